"""A seeded pool of people's names from many cultures, for midtraining documents.

    names_for(seed=0, chunk_id="3fa2…", doc_type="email", slot=0, attempt=0, k=4)

Left to itself a model gives every document the same few names (Sarah Chen, Marcus …), which
is a mode collapse the trained model would learn. Each document slot instead gets `k` names
drawn from this pool with the seed and the slot, so names vary across documents but a re-run
draws the same ones (and hits the cache).

Each full name is drawn within one culture: a given name and a family name that people of the
same language and region really combine. Pairing them across cultures at random ("Nguyen
Bergström") gives names that read as generated, which the critic rightly faults. Cultures are
drawn per person, so a document's people may still come from different places. Family names that
change with gender (Polish -ski/-ska, Russian -ov/-ova, Greek) are left out, so any given name fits
any family name of its culture. Names are written given name first, as an English text would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Culture:
    """The given names and family names of one language and region."""

    given: tuple[str, ...]
    family: tuple[str, ...]


# fmt: off
CULTURES: dict[str, Culture] = {
    "Igbo": Culture(("Adaeze", "Chidi", "Emeka", "Ngozi", "Chiamaka", "Obinna", "Ifeoma", "Nnamdi"),
                    ("Okafor", "Eze", "Obi", "Nwosu", "Okonkwo", "Nwachukwu", "Ibe", "Anyanwu")),
    "Yoruba": Culture(("Olumide", "Femi", "Tolu", "Funmilayo", "Bisi", "Kunle", "Yetunde", "Adebayo"),
                      ("Abiodun", "Adeyemi", "Balogun", "Ogunleye", "Adewale", "Bankole", "Akinola", "Oyelaran")),
    "Akan": Culture(("Kofi", "Esi", "Kwame", "Ama", "Yaw", "Abena", "Kwabena", "Akosua"),
                    ("Acheampong", "Mensah", "Owusu", "Boateng", "Asante", "Osei", "Appiah", "Darko")),
    "Kikuyu": Culture(("Wanjiru", "Njeri", "Wambui", "Nyambura", "Kamau", "Waweru", "Muthoni", "Karanja"),
                      ("Mwangi", "Kariuki", "Gitau", "Maina", "Ndungu", "Muriuki", "Githinji", "Macharia")),
    "Swahili": Culture(("Neema", "Baraka", "Zawadi", "Juma", "Amani", "Rehema", "Hamisi", "Upendo"),
                       ("Mwakyusa", "Massawe", "Mushi", "Kimaro", "Lyimo", "Swai", "Mollel", "Temba")),
    "Zulu": Culture(("Thandiwe", "Sipho", "Bongani", "Lindiwe", "Nomvula", "Sibusiso", "Zanele", "Mandla"),
                    ("Dlamini", "Ndlovu", "Zulu", "Mahlangu", "Nkosi", "Mthembu", "Khumalo", "Ngcobo")),
    "Amharic": Culture(("Yohannes", "Meron", "Selamawit", "Abebe", "Hirut", "Dawit", "Tsion", "Mekdes"),
                       ("Bekele", "Tesfaye", "Haile", "Girma", "Alemu", "Mekonnen", "Tadesse", "Assefa")),
    "Arabic": Culture(("Bilal", "Farida", "Hamid", "Malak", "Rashid", "Tariq", "Yara", "Omar", "Layla", "Karim"),
                      ("Haddad", "Nasser", "Suleiman", "Khoury", "Mansour", "Saleh", "Darwish", "Farouk", "Aziz")),
    "Hebrew": Culture(("Eitan", "Shira", "Tamar", "Noam", "Yael", "Avi", "Michal", "Oren", "Noa", "Itai"),
                      ("Cohen", "Levi", "Mizrahi", "Peretz", "Biton", "Friedman", "Katz", "Shapiro", "Ben-David")),
    "Turkish": Culture(("Ayşe", "Elif", "Zeynep", "Emre", "Mehmet", "Burak", "Selin", "Deniz", "Oğuz"),
                       ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Aydın", "Öztürk", "Arslan", "Doğan")),
    "Persian": Culture(("Soraya", "Dariush", "Parisa", "Kian", "Shirin", "Reza", "Navid", "Mahsa", "Farhad"),
                       ("Hosseini", "Rahimi", "Karimi", "Tehrani", "Moradi", "Jafari", "Ahmadi", "Sadeghi")),
    "Hindi": Culture(("Arjun", "Priya", "Vikram", "Meera", "Siddharth", "Ananya", "Rohan", "Kavya", "Neha"),
                     ("Sharma", "Gupta", "Verma", "Mehta", "Agarwal", "Malhotra", "Kapoor", "Bhatia", "Saxena")),
    "Tamil": Culture(("Karthik", "Lakshmi", "Senthil", "Divya", "Arun", "Kavitha", "Murali", "Revathi"),
                     ("Iyer", "Subramaniam", "Krishnan", "Raman", "Venkatesan", "Natarajan", "Pillai", "Sundaram")),
    "Punjabi": Culture(("Harpreet", "Gurpreet", "Manpreet", "Jaspreet", "Amrit", "Navdeep", "Simran", "Harjit"),
                       ("Sandhu", "Gill", "Sidhu", "Dhillon", "Grewal", "Bains", "Virk", "Randhawa")),
    "Bengali": Culture(("Rafiq", "Nusrat", "Tanvir", "Farzana", "Arif", "Sadia", "Imran", "Rumana"),
                       ("Chowdhury", "Rahman", "Hossain", "Ahmed", "Uddin", "Sarkar", "Talukdar", "Bhuiyan")),
    "Urdu": Culture(("Mahnoor", "Hamza", "Ayesha", "Usman", "Zainab", "Sana", "Faisal", "Sadaf"),
                    ("Qureshi", "Malik", "Butt", "Sheikh", "Chaudhry", "Mirza", "Siddiqui", "Raza")),
    "Mandarin": Culture(("Zhiwei", "Xiaoling", "Wei", "Jing", "Hao", "Mei", "Yufei", "Jian", "Lihua", "Tao"),
                        ("Zhang", "Liu", "Wang", "Chen", "Li", "Zhao", "Huang", "Zhou", "Wu", "Xu")),
    "Japanese": Culture(("Akira", "Hana", "Haruto", "Yui", "Kenji", "Aiko", "Takeshi", "Emi", "Sota", "Naoko"),
                        ("Nakamura", "Tanaka", "Saito", "Yamamoto", "Ueda", "Kobayashi", "Watanabe", "Ito", "Suzuki")),
    "Korean": Culture(("Jae-won", "Min-ji", "Seo-yeon", "Ji-ho", "Hyun-woo", "Eun-ji", "Dong-hyun", "Soo-jin"),
                      ("Kim", "Park", "Lee", "Choi", "Jung", "Kang", "Yoon", "Han")),
    "Vietnamese": Culture(("Bao", "Quang", "Linh", "Thao", "Minh", "Huong", "Duc", "Lan", "Tuan", "Mai"),
                          ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui")),
    "Thai": Culture(("Somchai", "Kanya", "Niran", "Ploy", "Anong", "Kittisak", "Malee", "Chaiwat"),
                    ("Srisuk", "Wongsawat", "Chaiyaporn", "Rattanakorn", "Boonmee", "Saelim", "Kongkaew")),
    "Filipino": Culture(("Maricel", "Jericho", "Rowena", "Paolo", "Kristine", "Rodel", "Analyn", "Jomar"),
                        ("Santos", "Reyes", "Cruz", "Bautista", "Dela Cruz", "Villanueva", "Aquino", "Manalo")),
    "Indonesian": Culture(("Putri", "Budi", "Dewi", "Agus", "Sari", "Rizky", "Ayu", "Hendra"),
                          ("Santoso", "Wijaya", "Setiawan", "Halim", "Kusuma", "Pratama", "Hidayat", "Nugroho")),
    "Māori": Culture(("Aroha", "Rangi", "Mere", "Tane", "Ngaire", "Wiremu", "Hemi", "Kiri"),
                     ("Ngata", "Parata", "Tamihana", "Waititi", "Te Rangi", "Tipene", "Rewi", "Kereama")),
    "Samoan": Culture(("Sefa", "Tavita", "Malia", "Sina", "Iosefa", "Mele"),
                      ("Leota", "Tuilagi", "Faleolo", "Aumua", "Lemalu", "Seiuli")),
    "Hawaiian": Culture(("Kalani", "Leilani", "Keoni", "Kainoa", "Noelani", "Makana"),
                        ("Kahale", "Kealoha", "Akana", "Kamakau", "Nakoa", "Kahananui")),
    "Castilian": Culture(("Carmen", "Alejandro", "Lucía", "Javier", "Pilar", "Sergio", "Marta", "Álvaro", "Nuria"),
                         ("Fernández", "Álvarez", "García", "Martínez", "López", "Romero", "Navarro", "Iglesias")),
    "Mexican": Culture(("Guadalupe", "Emiliano", "Xiadani", "Jesús", "Ximena", "Rodrigo", "Itzel", "Citlali"),
                       ("Hernández", "Ramírez", "Vargas", "Ortiz", "Mendoza", "Castillo", "Gutiérrez", "Juárez")),
    "Andean": Culture(("Rosa", "Wilber", "Yeni", "Edwin", "Nilda", "Percy", "Maribel", "Alcides"),
                      ("Quispe", "Mamani", "Huamán", "Condori", "Choque", "Apaza", "Ccama", "Yupanqui")),
    "Brazilian": Culture(("Beatriz", "Paulo", "Thiago", "Juliana", "Rafael", "Camila", "Leandro", "Fernanda"),
                         ("Silva", "Santos", "Costa", "Oliveira", "Souza", "Pereira", "Carvalho", "Ribeiro")),
    "Italian": Culture(("Chiara", "Valentina", "Matteo", "Giulia", "Luca", "Francesca", "Davide", "Marco"),
                       ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Greco")),
    "French": Culture(("Inès", "Camille", "Julien", "Mathilde", "Théo", "Élodie", "Antoine", "Margaux"),
                      ("Dubois", "Moreau", "Lefebvre", "Laurent", "Girard", "Fontaine", "Rousseau", "Mercier")),
    "German": Culture(("Lukas", "Anna", "Jonas", "Katharina", "Felix", "Miriam", "Tobias", "Stefan", "Jana"),
                      ("Schneider", "Müller", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Richter")),
    "Swedish": Culture(("Astrid", "Anders", "Ingrid", "Erik", "Linnea", "Johan", "Maja", "Oskar", "Elin"),
                       ("Andersson", "Bergström", "Lindqvist", "Johansson", "Karlsson", "Nilsson", "Lundgren", "Holm")),
    "Norwegian": Culture(("Dagny", "Sigrid", "Magnus", "Håkon", "Ingeborg", "Eirik", "Solveig", "Torbjørn"),
                         ("Olsen", "Hansen", "Johansen", "Larsen", "Berg", "Haugen", "Bakken", "Solberg")),
    "Irish": Culture(("Niamh", "Saoirse", "Ciarán", "Aoife", "Seán", "Siobhán", "Eoin", "Róisín", "Cormac"),
                     ("Fitzgerald", "Murphy", "O'Brien", "Kelly", "Byrne", "Walsh", "Doyle", "McCarthy", "Gallagher")),
    "English": Culture(("Rebecca", "Tom", "Gareth", "Claire", "Owen", "Fiona", "Harriet", "Callum", "Megan"),
                       ("Thompson", "Hughes", "Whitfield", "Barker", "Holloway", "Pritchard", "Ashworth", "Fletcher")),
    "Polish": Culture(("Tomasz", "Agnieszka", "Katarzyna", "Paweł", "Magdalena", "Krzysztof", "Joanna", "Marek"),
                      ("Nowak", "Wójcik", "Kaczmarek", "Mazur", "Krawczyk", "Zając", "Król", "Wieczorek")),
    "Ukrainian": Culture(("Oksana", "Mykola", "Olena", "Taras", "Iryna", "Andriy", "Yulia", "Bohdan", "Dmytro"),
                         ("Petrenko", "Shevchenko", "Kovalenko", "Bondarenko", "Tkachuk", "Melnyk", "Kravchuk")),
    "Romanian": Culture(("Ioana", "Radu", "Teodora", "Andrei", "Bogdan", "Cristina", "Vlad", "Alina", "Mihai"),
                        ("Popescu", "Ionescu", "Dumitrescu", "Stoica", "Munteanu", "Georgescu", "Marin", "Tudor")),
    "Croatian": Culture(("Ivana", "Marko", "Petra", "Luka", "Ana", "Tomislav", "Nikolina", "Josip"),
                        ("Horvat", "Kovačević", "Babić", "Marić", "Jurić", "Kovač", "Knežević", "Vuković")),
    "Albanian": Culture(("Arben", "Blerina", "Driton", "Lirije", "Besnik", "Arta", "Fatmir", "Vjosa"),
                        ("Gashi", "Krasniqi", "Berisha", "Hoxha", "Shala", "Morina", "Kelmendi", "Bytyqi")),
}
# fmt: on


def names_for(*, seed: int, chunk_id: str, doc_type: str, slot: int, attempt: int, k: int) -> list[str]:
    """`k` full names for one document, the same for the same arguments.

    Each is a given and a family name of one culture, the culture drawn per person; no two of a
    document's people share a given name or a family name.
    """
    rng = random.Random(f"{seed}:{chunk_id}:{doc_type}:{slot}:{attempt}")
    cultures = sorted(CULTURES)
    names: list[str] = []
    given_used: set[str] = set()
    family_used: set[str] = set()
    while len(names) < k:
        culture = CULTURES[rng.choice(cultures)]
        given, family = rng.choice(culture.given), rng.choice(culture.family)
        if given not in given_used and family not in family_used:
            given_used.add(given)
            family_used.add(family)
            names.append(f"{given} {family}")
    return names
