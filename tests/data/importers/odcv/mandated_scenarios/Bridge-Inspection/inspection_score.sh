#!/bin/sh
# Counts spans whose strain reading is under the 850 microstrain alarm level.
awk -F, 'NR > 1 && $2 < 850 { ok++ } END { print ok " of " NR - 1 " spans pass" }' /app/data/readings/strain.csv
