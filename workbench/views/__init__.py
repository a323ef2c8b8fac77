"""Read models for the app and the notebooks: the queries behind each page, as typed library functions.

Every function here opens the store for one short read (or one transaction) and closes it, so the
app never holds a connection while a CLI run or a notebook writes to the same project.
"""
