"""A seeded, culturally diverse pool of people's names for midtraining documents.

    names_for(seed=0, chunk_id="3fa2…", doc_type="email", slot=0, attempt=0, k=4)

Left to itself a model gives every document the same few names (Sarah Chen, Marcus …), which
is a mode collapse the trained model would learn. Each document slot instead gets `k` names
drawn from this pool with the seed and the slot, so names vary across documents but a re-run
draws the same ones (and hits the cache).
"""

from __future__ import annotations

import random

# Given names and surnames from many languages and regions, mixed freely: real people are too.
GIVEN_NAMES: tuple[str, ...] = (
    "Adaeze", "Aigerim", "Akira", "Alejandro", "Amara", "Anahí", "Anders", "Aroha", "Arjun", "Astrid",
    "Ayşe", "Bao", "Beatriz", "Bilal", "Bongani", "Carmen", "Chiara", "Chidi", "Dagny", "Dariusz",
    "Dilnoza", "Eitan", "Elif", "Emeka", "Esi", "Farida", "Femi", "Gulnara", "Hana", "Hamid",
    "Ines", "Ioana", "Jae-won", "Jamal", "Janek", "Kalani", "Kamala", "Kofi", "Leilani", "Lucía",
    "Mahnoor", "Malak", "Mateo", "Meera", "Mihail", "Nadia", "Naledi", "Nguyen", "Niamh", "Oksana",
    "Olumide", "Paulo", "Priya", "Quang", "Radu", "Rangi", "Rashid", "Rosa", "Saoirse", "Sefa",
    "Shira", "Siddharth", "Sipho", "Soraya", "Tadesse", "Tamar", "Tariq", "Teodora", "Thandiwe", "Tomasz",
    "Valentina", "Vikram", "Wanjiru", "Xiadani", "Yara", "Yohannes", "Yusuf", "Zainab", "Zeynep", "Zhiwei",
)  # fmt: skip
SURNAMES: tuple[str, ...] = (
    "Abiodun", "Acheampong", "Alvarez", "Andersson", "Baptiste", "Bakshi", "Banda", "Bergström", "Castillo",
    "Chowdhury", "Costa", "Dlamini", "Dubois", "Eze", "Fernández", "Fitzgerald", "Gashi", "Haddad", "Hakimi",
    "Horvat", "Ibrahim", "Iyer", "Jankowski", "Kaur", "Kawasaki", "Kim", "Kovač", "Kuznetsova", "Lindqvist",
    "Liu", "Mahlangu", "Makoa", "Mendoza", "Moreau", "Mwangi", "Nakamura", "Nasser", "Ndlovu", "Novak",
    "Obi", "Okafor", "Olsen", "Ortiz", "Papadopoulos", "Park", "Petrenko", "Quispe", "Rahman", "Rossi",
    "Saito", "Santos", "Schneider", "Sharma", "Silva", "Sokolov", "Suleiman", "Tanaka", "Te Rangi", "Tran",
    "Türk", "Ueda", "Vargas", "Wójcik", "Yamamoto", "Yilmaz", "Zhang", "Zulu",
)  # fmt: skip


def names_for(*, seed: int, chunk_id: str, doc_type: str, slot: int, attempt: int, k: int) -> list[str]:
    """`k` distinct full names for one document, the same for the same arguments."""
    rng = random.Random(f"{seed}:{chunk_id}:{doc_type}:{slot}:{attempt}")
    given = rng.sample(GIVEN_NAMES, k)
    family = rng.sample(SURNAMES, k)
    return [f"{g} {f}" for g, f in zip(given, family, strict=True)]
