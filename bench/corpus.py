"""A reproducible corpus of news-like articles for the benchmarks.

Each document recombines sentences of the seed articles (and a few dozen sentences written here
for other beats: economy, courts, weather, health, elections) with the entities swapped for a
cast drawn per document: people, countries, capitals, agencies, news wires, numbers and dates.
Documents have a headline and 3–10 paragraphs of 3–6 sentences; now and then a scraper
leftover line ("Recommended stories") that the indexer must drop, as in the seeds.

Document ``i`` depends only on ``(seed, i)``, so a smaller corpus is a prefix of a larger one.

    python -m bench.corpus 1000 /tmp/corpus   # about 1,000 passages
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.index.documents import Document, content_hash, find_boilerplate, load_documents, make_title
from qa.index.passages import make_passages, split_sentences
from qa.settings import Splitter

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

FIRST = """Amara Ana Andrés Anil Astrid Aylin Bao Beatriz Bilal Camille Carlos Chen Chidi Dalia Daniel
Dmitri Elena Emeka Esther Farah Felipe Fatima Gabriel Grace Hana Hassan Ingrid Isabel Ivan Jamal Javier
Jin Joanna Jorge José Kamala Kenji Khalid Lars Leila Lucía Luis Mai Marco María Mateo Mehmet Miguel Mina
Nadia Nikolai Noura Olga Omar Pablo Paulo Priya Rafael Ravi Rosa Salma Samuel Sofia Sven Tariq Teresa
Thabo Tomás Valentina Victor Wei Yara Yusuf Zainab Zoltán Aurelio Brigitte Claude Dolores Efraín""".split()
LAST = """Abdullah Acosta Adeyemi Almeida Alvarez Andersen Bakr Barros Bianchi Borges Castillo Cheng Costa
Dahl Díaz Dlamini Duarte Eriksen Esposito Fernández Ferreira García Gómez Haddad Hernández Ibrahim Ito
Jansen Kaya Kowalski Kuznetsov Laine Lindqvist López Mahmoud Martins Medina Mendoza Moreau Morales
Müller Nakamura Navarro Nguyen Novak Núñez Okafor Olsen Ortega Osei Park Pereira Petrov Quispe Ramos
Reyes Rossi Salazar Sánchez Santos Schmidt Silva Suárez Takahashi Torres Uribe Valdés Vargas Varga Wong
Yilmaz Zhang Zúñiga Ahmadi Bernard Cardoso Delgado Farouk Guerrero Herrera Iglesias Jiménez""".split()
# name, adjective, demonym (plural), capital
COUNTRIES = [
    ("Argentina", "Argentine", "Argentines", "Buenos Aires"), ("Bolivia", "Bolivian", "Bolivians", "La Paz"),
    ("Brazil", "Brazilian", "Brazilians", "Brasília"), ("Chile", "Chilean", "Chileans", "Santiago"),
    ("Colombia", "Colombian", "Colombians", "Bogotá"), ("Ecuador", "Ecuadorian", "Ecuadorians", "Quito"),
    ("Peru", "Peruvian", "Peruvians", "Lima"), ("Mexico", "Mexican", "Mexicans", "Mexico City"),
    ("Nicaragua", "Nicaraguan", "Nicaraguans", "Managua"), ("Panama", "Panamanian", "Panamanians", "Panama City"),
    ("Haiti", "Haitian", "Haitians", "Port-au-Prince"), ("Honduras", "Honduran", "Hondurans", "Tegucigalpa"),
    ("Paraguay", "Paraguayan", "Paraguayans", "Asunción"), ("Uruguay", "Uruguayan", "Uruguayans", "Montevideo"),
    ("Guatemala", "Guatemalan", "Guatemalans", "Guatemala City"), ("Jamaica", "Jamaican", "Jamaicans", "Kingston"),
    ("Nigeria", "Nigerian", "Nigerians", "Abuja"), ("Kenya", "Kenyan", "Kenyans", "Nairobi"),
    ("Ghana", "Ghanaian", "Ghanaians", "Accra"), ("Ethiopia", "Ethiopian", "Ethiopians", "Addis Ababa"),
    ("Egypt", "Egyptian", "Egyptians", "Cairo"), ("Morocco", "Moroccan", "Moroccans", "Rabat"),
    ("Sudan", "Sudanese", "Sudanese", "Khartoum"), ("Senegal", "Senegalese", "Senegalese", "Dakar"),
    ("Turkey", "Turkish", "Turks", "Ankara"), ("Iran", "Iranian", "Iranians", "Tehran"),
    ("Iraq", "Iraqi", "Iraqis", "Baghdad"), ("Syria", "Syrian", "Syrians", "Damascus"),
    ("Pakistan", "Pakistani", "Pakistanis", "Islamabad"), ("India", "Indian", "Indians", "New Delhi"),
    ("Indonesia", "Indonesian", "Indonesians", "Jakarta"), ("Vietnam", "Vietnamese", "Vietnamese", "Hanoi"),
    ("Thailand", "Thai", "Thais", "Bangkok"), ("Japan", "Japanese", "Japanese", "Tokyo"),
    ("Poland", "Polish", "Poles", "Warsaw"), ("Ukraine", "Ukrainian", "Ukrainians", "Kyiv"),
    ("Serbia", "Serbian", "Serbians", "Belgrade"), ("Greece", "Greek", "Greeks", "Athens"),
    ("France", "French", "French", "Paris"), ("Germany", "German", "Germans", "Berlin"),
    ("Spain", "Spanish", "Spaniards", "Madrid"), ("Norway", "Norwegian", "Norwegians", "Oslo"),
]
REGIONS = ["Latin America", "West Africa", "the Horn of Africa", "Southeast Asia", "Central Europe",
           "the Balkans", "the Andes", "North Africa", "the Gulf", "Central America", "the Sahel", "the Baltic"]
SEATS = ["Élysée Palace", "Kremlin", "Chancellery", "Blue House", "Palacio Nacional", "Government House",
         "Presidential Palace", "Casa Rosada", "Miraflores Palace", "State House"]
AGENCIES = ["CIA", "MI6", "Mossad", "the intelligence service", "the National Security Agency",
            "the Federal Police", "Interpol", "the state security bureau", "the counter-terrorism unit"]
WIRES = ["Associated Press", "Reuters", "Agence France-Presse", "EFE", "Xinhua", "Anadolu Agency",
         "Kyodo News", "Deutsche Presse-Agentur", "Prensa Latina", "Bernama", "Yonhap", "ANSA"]
FORCES = ["Bolivarian National Armed Forces", "National Army", "Republican Guard", "Armed Forces of the Nation",
          "Popular Defence Forces", "National Guard", "Revolutionary Armed Forces", "Federal Army"]
MINISTRIES = ["Defense Ministry", "Interior Ministry", "Foreign Ministry", "Health Ministry", "Finance Ministry",
              "Energy Ministry", "Justice Ministry", "Ministry of Agriculture", "Ministry of Labour"]
PLAZAS = ["Independence Square", "Plaza de Mayo", "Liberation Square", "Revolution Plaza", "Freedom Square",
          "Constitution Plaza", "Heroes' Square", "Plaza Bolívar", "Victory Square", "Unity Park"]
CEMETERIES = ["Colon Cemetery", "National Cemetery", "Heroes' Cemetery", "General Cemetery", "Recoleta Cemetery",
              "Martyrs' Cemetery", "Central Cemetery"]
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = ("January February March April May June July August September October November "
          "December").split()
NUMBER_WORDS = "two three four five six seven eight nine ten eleven twelve".split()
BOILERPLATE = ["Recommended stories", "Advertisement", "Read more", "Related stories", "Share this article"]

# Sentences for beats the seeds do not cover; same slots as the seed substitutions below.
EXTRA = """
The {ministryA} said on {weekday} that inflation in {countryA} reached {pct} percent in {month}, the highest level in {n2} years.
Prices of bread, fuel and cooking oil rose sharply after the government of {leader} cut subsidies that had been in place since {year}.
{citizen}, a {age}-year-old teacher from {capA}, said her monthly salary no longer covers rent and groceries.
The central bank raised its benchmark interest rate by {n1} basis points, its {ordinal} increase this year.
Economists at {wire} expect growth to slow to {small}.{n1} percent next year as exports to {countryB} fall.
A court in {capA} sentenced {n1} former officials to between {n1} and {n2} years in prison for embezzling public funds.
The judge ruled that the defendants had diverted more than {money} million dollars from a housing programme.
Lawyers for {interim} said they would appeal the verdict, calling the trial politically motivated.
Heavy rain has forced more than {big} people from their homes in the north of {countryA}, officials said.
At least {n2} people have died in floods and landslides since {month} {day}, according to the civil protection agency.
Rescue teams from {countryB} and {countryC} arrived in {capA} on {weekday} with boats, tents and water purifiers.
Meteorologists warned that the rainy season could last until the end of {month2}.
Health officials in {countryA} have confirmed {n2} new cases of cholera, most of them in the outskirts of {capA}.
The {ministryA} opened {n1} emergency clinics and asked residents to boil drinking water.
Voters in {countryA} will elect a new parliament on {month} {day}, {year}, the electoral commission announced.
Opposition leader {defense} accused {leader} of using state television to campaign for his allies.
A poll published by {wire} gave the ruling party {pct} percent of the vote, ahead of the opposition with {pct2} percent.
More than {big} observers from {region} are expected to monitor the vote.
{leaderB} told reporters in {capB} that {countryB} would not recognise the result unless the count was transparent.
The government of {countryA} signed an agreement with {countryB} to build a {n2}-kilometre pipeline across the border.
The project, worth {money} million dollars, is expected to create {big} jobs by {year2}.
Environmental groups said the pipeline would cross protected forest near {plaza} and threaten local water supplies.
Officials at the {ministryA} denied the claim and said the route had been approved after a two-year study.
Police in {capA} arrested {n1} people on {weekday} after protesters blocked the main road to the airport.
Witnesses said officers used tear gas to disperse a crowd of several hundred outside the {seatC}.
{spy}, the head of {agency}, travelled to {capB} on {weekday} for talks on border security.
The two sides agreed to share information on drug trafficking routes through {region}, a spokesman said.
{interior} said the {forces} had seized {n2} tonnes of cocaine and {n1} aircraft in the past {n1} months.
Teachers in {countryA} went on strike on {weekday} to demand a pay rise of {pct} percent.
The union said {big} schools were closed and that the strike would continue until the government negotiated.
A spokesman for the {ministryA} called the strike illegal and said striking teachers would lose a day's pay.
{countryA} will host the regional football championship in {year2}, with matches in {capA} and {n1} other cities.
Organisers expect more than {big} visitors and estimate the cost of new stadiums at {money} million dollars.
The fire broke out shortly after midnight in a textile factory on the edge of {capA}, killing {n1} workers.
Firefighters needed {n1} hours to bring the blaze under control, the fire brigade said in a statement.
Relatives gathered outside the factory gates on {weekday} morning, waiting for news of the missing.
"We want answers, not condolences," said {citizen}, whose brother worked the night shift.
{leaderC} is due to visit {capA} in {month}, the first visit by a {adjC} leader in {n2} years.
Analysts say the visit signals a thaw in relations that have been strained since the {year} border dispute.
""".strip().splitlines()
HEADLINES = """
{n2} {adjA} soldiers killed in raid on {capA}, ministry says
{demB} rally outside {adjC} embassy in {capB}
{leader} meets {agency} chief in {capA}
Floods force {big} from their homes in {countryA}
Inflation in {countryA} hits {pct} percent
Court jails {n1} former officials over housing fraud
{countryA} and {countryB} sign pipeline deal
Teachers strike across {countryA} over pay
Factory fire kills {n1} in {capA}
{leaderB}: {countryB} will never make concessions
Death toll in {capA} attack rises to {n2}
""".strip().splitlines()

# Seed surface forms and the slot each becomes; longer forms first so "Nicolás Maduro" wins over "Maduro".
SEED_ENTITIES = {
    "Nicolás Maduro": "leader", "Nicolas Maduro": "leader", "Maduro": "leader_last",
    "Cilia Flores": "spouse", "Diosdado Cabello": "interior", "Cabello": "interior_last",
    "Vladimir Padrino López": "defense", "Vladimir Padrino Lopez": "defense", "Padrino": "defense_last",
    "Miguel Diaz-Canel": "leaderB", "Diaz-Canel": "leaderB_last", "Delcy Rodríguez": "interim",
    "Delsey Rodriguez": "interim", "John Ratcliffe": "spy", "Ratcliffe": "spy_last",
    "Donald Trump": "leaderC", "Trump": "leaderC_last", "Rene Gonzalez": "citizen",
    "Norlys Perez": "photographer", "Ramon Espinosa": "photographer2",
    "Jose Marti Anti-Imperialist Plaza": "plaza", "José Martí Anti-Imperialist Plaza": "plaza",
    "Colon Cemetery": "cemetery", "Bolivarian National Armed Forces": "forces",
    "Ministry of the Armed Forces": "ministryB", "Defense Ministry": "ministryA", "defense ministry": "ministryA",
    "Associated Press": "wire", "Reuters": "wire2", "AP Photo": "wire_photo", "the AP": "the_wire",
    "CIA": "agency", "White House": "seatC", "Washington": "capC", "the United States": "countryC",
    "the US.": "the_countryC.", "U.S.": "adjC", "US": "adjC",
    "Venezuelan": "adjA", "Venezuela": "countryA", "Caracas": "capA", "Cubans": "demB", "Cuban": "adjB",
    "Cuba": "countryB", "Havana": "capB", "Latin America": "region", "the Caribbean": "region2",
}
_ENTITY = re.compile("|".join(re.escape(k) for k in sorted(SEED_ENTITIES, key=len, reverse=True))
                     + r"(?=\W|$)")
_DATE = re.compile(r"\b(?:(?:January|Jan\.) \d{1,2}(?:, \d{4})?|\d{1,2}/\d{1,2}/\d{4})")
_WEEKDAY = re.compile(r"\b(?:" + "|".join(WEEKDAYS) + r")\b")
_NUMBER = re.compile(r"\b\d+\b")
_NUMBER_WORD = re.compile(r"\b(?:[Nn]ine|[Ss]even|[Tt]wo)\b")
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class GeneratedDoc:
    name: str  # file name; its stem is the document id
    text: str
    cast: dict  # the entities this document uses (for questions)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _cast(rng: random.Random) -> dict:
    a, b, c = rng.sample(COUNTRIES, 3)
    people = {k: _person(rng) for k in ("leader", "spouse", "interior", "defense", "leaderB", "interim", "spy",
                                        "leaderC", "citizen", "photographer", "photographer2")}
    cast = dict(people, countryA=a[0], adjA=a[1], demA=a[2], capA=a[3], countryB=b[0], adjB=b[1], demB=b[2],
                capB=b[3], countryC=c[0], adjC=c[1], capC=c[3], region=rng.choice(REGIONS),
                region2=rng.choice(REGIONS), seatC=rng.choice(SEATS), agency=rng.choice(AGENCIES),
                wire=rng.choice(WIRES), wire2=rng.choice(WIRES), forces=rng.choice(FORCES),
                ministryA=rng.choice(MINISTRIES), ministryB=rng.choice(MINISTRIES), plaza=rng.choice(PLAZAS),
                cemetery=rng.choice(CEMETERIES))
    for k in people:
        cast[k + "_last"] = people[k].split()[-1]
    cast["the_countryC."] = f"{c[0]}."
    cast["wire_photo"] = f"{cast['wire']} Photo"
    cast["the_wire"] = f"the {cast['wire']}"
    return cast


def _number_like(rng: random.Random, digits: str) -> str:
    n = int(digits)
    if len(digits) == 4 and 1900 <= n <= 2100:
        return str(rng.randint(2015, 2027))
    lo, hi = max(1, n // 2), max(3, n * 2)
    return str(rng.randint(lo, hi))


def _fill(template: str, cast: dict, rng: random.Random) -> str:
    """Substitute the seed entities, dates and numbers, then the {slots} of written templates."""
    def number_slot(name: str) -> str:
        return {"n1": lambda: str(rng.randint(2, 12)), "n2": lambda: str(rng.randint(13, 99)),
                "small": lambda: str(rng.randint(1, 6)), "pct": lambda: str(rng.randint(3, 60)),
                "pct2": lambda: str(rng.randint(3, 60)), "age": lambda: str(rng.randint(19, 81)),
                "big": lambda: f"{rng.randint(1, 90) * 1000 + rng.randint(0, 9) * 100:,}",
                "money": lambda: str(rng.randint(12, 950)), "year": lambda: str(rng.randint(2008, 2024)),
                "year2": lambda: str(rng.randint(2026, 2031)), "day": lambda: str(rng.randint(1, 28)),
                "weekday": lambda: rng.choice(WEEKDAYS), "month": lambda: rng.choice(MONTHS),
                "month2": lambda: rng.choice(MONTHS),
                "ordinal": lambda: rng.choice(["second", "third", "fourth", "fifth"])}[name]()

    text = _ENTITY.sub(lambda m: cast[SEED_ENTITIES[m.group()]], template)
    text = _DATE.sub(lambda m: f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"
                     + (f", {rng.randint(2019, 2027)}" if "," in m.group() or "/" in m.group() else ""), text)
    text = _WEEKDAY.sub(lambda m: rng.choice(WEEKDAYS), text)
    text = _NUMBER.sub(lambda m: _number_like(rng, m.group()), text)
    text = _NUMBER_WORD.sub(lambda m: (str.capitalize if m.group()[0].isupper() else str)(rng.choice(NUMBER_WORDS)),
                            text)
    return _SLOT.sub(lambda m: cast[m.group(1)] if m.group(1) in cast else number_slot(m.group(1)), text)


def seed_sentences() -> tuple[list[str], list[str]]:
    """Body sentences and headlines of the seed articles, as split by the indexer."""
    docs, _ = load_documents([SEEDS])
    body, heads = [], []
    for doc in docs:
        for s in split_sentences(doc):
            text = doc.text[s.start:s.end].strip()
            if len(text.split()) < 3:
                continue
            (heads if s.heading else body).append(text)
    return body, heads


def _document(seed: int, i: int, body: list[str], heads: list[str]) -> GeneratedDoc:
    rng = random.Random(f"{seed}:{i}")
    cast = _cast(rng)
    pool = body + EXTRA
    order = rng.sample(pool, len(pool))  # each template at most once per document
    lines = [_fill(rng.choice(HEADLINES + heads), cast, rng), ""]
    used = 0
    for _ in range(rng.randint(3, 10)):
        n = rng.randint(3, 6)
        sentences = [_fill(t, cast, rng) for t in order[used:used + n]]
        used = (used + n) % (len(order) - 6)
        if rng.random() < 0.08:  # a sentence run on with the next: some long sentences
            sentences[0:2] = [sentences[0].rstrip(".") + ", while " + sentences[1][0].lower() + sentences[1][1:]]
        lines += [" ".join(sentences), ""]
        if rng.random() < 0.05:
            lines += [rng.choice(BOILERPLATE), ""]
        if rng.random() < 0.1:  # a subheading, as in the seeds
            lines += [_fill(rng.choice(heads), cast, rng), ""]
    text = "\n".join(lines)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return GeneratedDoc(f"{i:06d}_{digest}.txt", text, cast)


def count_passages(doc: GeneratedDoc, splitter: Splitter = Splitter()) -> int:
    """Passages the indexer will make from ``doc`` (same splitter as qa.index.passages)."""
    boiler = find_boilerplate(doc.text)
    d = Document(doc.name[:-4], doc.name, make_title(doc.text, doc.name, boiler), doc.text,
                 content_hash(doc.text.encode()), boiler)
    return len(make_passages(d, split_sentences(d), splitter))


def generate(target_passages: int, seed: int = 0) -> Iterator[tuple[GeneratedDoc, int]]:
    """Documents (with their passage counts) until the corpus has at least ``target_passages``."""
    body, heads = seed_sentences()
    total, i = 0, 0
    while total < target_passages:
        doc = _document(seed, i, body, heads)
        n = count_passages(doc)
        total += n
        i += 1
        yield doc, n


QUESTIONS = [
    "How many {adjA} soldiers were killed in the attack on {capA}?",
    "How many people were injured in {capA}?",
    "Who is the interior minister of {countryA}?",
    "Where did {demB} protest against the {adjC} raid?",
    "What did {leaderB} say about the {seatC}?",
    "Who met {spy} in {capA}?",
    "Which agency does {spy} lead?",
    "Where will the memorial to the soldiers be built?",
    "How many {adjB} soldiers died in {countryA}?",
    "What is the inflation rate in {countryA}?",
    "How many people died in the floods in {countryA}?",
    "When will voters in {countryA} elect a new parliament?",
    "Who accused {leader_last} of using state television?",
    "How long is the pipeline between {countryA} and {countryB}?",
    "How many workers were killed in the factory fire in {capA}?",
    "What did {citizen} say?",
    "Why did teachers in {countryA} go on strike?",
    "{interior} {forces} cocaine seized",
    "Which news agency reported the meeting with {spy_last}?",
    "When did {countryB} receive the remains of its soldiers?",
]


def questions(docs: list[GeneratedDoc], n: int, seed: int = 0) -> list[str]:
    """``n`` questions about entities of random documents of the corpus, reproducible."""
    rng = random.Random(f"{seed}:questions")
    out = []
    for j in range(n):
        doc = docs[rng.randrange(len(docs))]
        out.append(_SLOT.sub(lambda m: doc.cast[m.group(1)], QUESTIONS[j % len(QUESTIONS)]))
    return out


def write(target_passages: int, folder: Path, seed: int = 0, n_questions: int = 250) -> dict:
    """Write the corpus into ``folder/docs`` and its questions into ``folder/questions.json``; reuse
    a complete earlier corpus of the same size and seed. Returns its summary."""
    meta_path = folder / "corpus.json"
    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]  # a changed generator regenerates
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if (meta.get("target"), meta.get("seed"), meta.get("generator")) == (target_passages, seed, version):
            return dict(meta, reused=True)
    docs_dir = folder / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    for old in docs_dir.glob("*.txt"):
        old.unlink()
    docs, passages, chars = [], 0, 0
    for doc, n in generate(target_passages, seed):
        (docs_dir / doc.name).write_text(doc.text, encoding="utf-8")
        docs.append(doc)
        passages += n
        chars += len(doc.text)
    qs = questions(docs, n_questions, seed)
    (folder / "questions.json").write_text(json.dumps(qs, ensure_ascii=False, indent=0), encoding="utf-8")
    meta = {"target": target_passages, "seed": seed, "generator": version, "documents": len(docs),
            "passages": passages, "chars": chars, "docs": str(docs_dir), "questions": str(folder / "questions.json")}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m bench.corpus PASSAGES FOLDER [SEED]", file=sys.stderr)
        return 2
    meta = write(int(args[0]), Path(args[1]), int(args[2]) if len(args) == 3 else 0)
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
