"""Which text form of a table row the shipped reader answers from: seven made-up articles, each
holding a table, written once per form (cells joined by commas, colons, bars, dashes or spaces; the
old DOCX reading, one cell a paragraph; inscriptis's padded columns; ``impl``, the library's own
``qa.index.documents.row_text``), one index per form, 25 questions whose answers are cells.

    python -m bench.table_forms [FORM ...]     # default: every form

Prints, per form, how many questions were answered right at the calibrated threshold. Measured
2026-12-07 on an AVX512-BF16 CPU with the shipped reader: comma + full stop (``impl``) 18 of 25,
"Label: value." 14, "Label | value" 11, "Label — value" 12, spaces 13, inscriptis 12, old DOCX 4.
With 25 questions these are a guide, not a settled ranking.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qa.engine import Engine
from qa.index.documents import row_text
from qa.settings import Settings

DOCS = {
 "buses": ("Winter bus service plan", "The transit authority published its winter bus plan on Friday. The new timetable replaces the autumn service and was agreed with the drivers' union.",
           None, [["Routes from November 3", "43"], ["Drivers needed", "61"], ["Depots open", "5"], ["Night buses", "12"]],
           "Riders can buy tickets on the bus or in the city's app. Fares stay the same as last year."),
 "library": ("Annual report of the Quillon library", "The library board met in January to review the year. Its budget was approved without changes.",
           None, [["Books lent in 2026", "18,400"], ["Members", "2,950"], ["Opening year", "1987"], ["Head librarian", "Maria Lindqvist"]],
           "A new reading room will open in the spring, the board said."),
 "league": ("Regional football league standings", "The season ended on Sunday with a draw between the two leading clubs.",
           ["Team", "Wins", "Losses"], [["Harbour Rovers", "14", "6"], ["Mill Town", "9", "11"], ["Eastfield United", "12", "8"]],
           "The league will expand to twelve clubs next year."),
 "prices": ("Museum reopens with new ticket prices", "The city museum reopened on Saturday after a two-year renovation of its east wing.",
           ["Ticket", "Price"], [["Adult", "€12"], ["Child", "€5"], ["Family", "€30"]],
           "Entry is free on the first Sunday of every month."),
 "site": ("Work begins on the northern tunnel", "Construction of the northern tunnel began this week, officials said.",
           None, [["Chief engineer", "Tomas Herrera"], ["Project manager", "Aiko Tanaka"], ["Site opened", "March 2025"], ["Workers on site", "240"]],
           "The tunnel is expected to be finished by the end of the decade."),
 "weather": ("Weekend weather in the valley towns", "A warm front brought mixed weather to the valley over the weekend.",
           ["City", "High", "Low", "Rain"], [["Porto Vell", "24°C", "15°C", "2 mm"], ["Karsfeld", "18°C", "9°C", "11 mm"]],
           "Forecasters expect drier days later in the week."),
 "election": ("Results of the mayoral election", "Turnout rose sharply compared with the last election, officials said.",
           ["Candidate", "Party", "Votes"], [["Lena Ostrova", "Green Alliance", "12,480"], ["Paul Marren", "Civic Union", "9,915"], ["Ada Quint", "Independent", "3,207"]],
           "The new mayor will take office in June."),
}
QS = [("How many routes are there from November 3?", "43"), ("How many drivers are needed?", "61"),
      ("How many depots are open?", "5"), ("How many night buses are there?", "12"),
      ("How many members does the library have?", "2,950"), ("When did the library open?", "1987"),
      ("Who is the head librarian?", "Maria Lindqvist"), ("How many books were lent in 2026?", "18,400"),
      ("How many wins did Harbour Rovers have?", "14"), ("How many losses did Mill Town have?", "11"),
      ("How many games did Eastfield United win?", "12"),
      ("How much is an adult ticket?", "€12"), ("How much does a family ticket cost?", "€30"), ("What is the price of a child ticket?", "€5"),
      ("Who is the chief engineer?", "Tomas Herrera"), ("Who is the project manager?", "Aiko Tanaka"), ("When did the site open?", "March 2025"),
      ("How many workers are on site?", "240"),
      ("What was the high in Porto Vell?", "24°C"), ("How much rain fell in Karsfeld?", "11 mm"), ("What was the low in Karsfeld?", "9°C"),
      ("How many votes did Paul Marren get?", "9,915"), ("Which party does Lena Ostrova belong to?", "Green Alliance"),
      ("How many votes did Ada Quint receive?", "3,207"), ("Who is the Civic Union candidate?", "Paul Marren")]



def f_colon(c, h, stop):
    t = "; ".join(f"{a}: {b}" for a, b in zip(h, c)) if h else c[0] + ": " + "; ".join(c[1:])
    return t + ("." if stop else "")


FORMS = {
 "colon_stop": lambda c, h: f_colon(c, h, True),
 "colon": lambda c, h: f_colon(c, h, False),
 "pipe": lambda c, h: " | ".join(c),
 "label_first": lambda c, h: (c[0] + ": " + "; ".join(f"{a} {b}" for a, b in zip(h[1:], c[1:]))) if h else f_colon(c, h, False),
 "label_first_stop": lambda c, h: (c[0] + ": " + "; ".join(f"{a} {b}" for a, b in zip(h[1:], c[1:])) + ".") if h else f_colon(c, h, True),
 "comma_stop": lambda c, h: (", ".join(f"{a}: {b}" for a, b in zip(h, c)) if h else c[0] + ", " + ", ".join(c[1:])) + ".",
 "dash": lambda c, h: (c[0] + " — " + "; ".join(f"{a}: {b}" for a, b in zip(h[1:], c[1:]))) if h else c[0] + " — " + "; ".join(c[1:]),
 "space": lambda c, h: " ".join(c), "old_docx": None, "old_html": None,
 "impl": lambda c, h: row_text(c, h or ()),
 "comma_colon_stop": lambda c, h: (", ".join(f"{a}: {b}" for a, b in zip(h, c)) if h else c[0] + ": " + ", ".join(c[1:])) + ".",
 "semi_header_comma_stop": lambda c, h: ("; ".join(f"{a}: {b}" for a, b in zip(h, c)) if h else c[0] + ", " + ", ".join(c[1:])) + ".",
 "comma_dash_stop": lambda c, h: (", ".join(f"{a} — {b}" for a, b in zip(h, c)) if h else c[0] + ", " + ", ".join(c[1:])) + ".",
}


def write_corpus(folder: Path, name: str) -> None:
    form = FORMS[name]
    for doc, (title, before, head, rows, after) in DOCS.items():
        if name in ("old_docx", "old_html"):
            allrows = ([head] if head else []) + rows
            if name == "old_docx":
                body = "\n\n".join(c for r in allrows for c in r)
            else:
                from inscriptis import get_text

                cells = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in allrows)
                body = get_text(f"<table>{cells}</table>").strip("\n")
        else:
            header = {"pipe": " | ", "impl": ", "}.get(name, "; ").join(head) if head else None
            body = "\n".join(([header] if header else []) + [form(r, head) for r in rows])
        (folder / f"{doc}.txt").write_text(f"{title}\n\n{before}\n\n{body}\n\n{after}\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    chosen = (argv if argv is not None else sys.argv[1:]) or list(FORMS)
    unknown = [n for n in chosen if n not in FORMS]
    if unknown:
        print(f"error: unknown form {', '.join(unknown)}; one of {', '.join(FORMS)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="qa-bench-tables-") as tmp:
        root = Path(tmp)
        for name in chosen:
            docs = root / name
            docs.mkdir()
            write_corpus(docs, name)
            engine = Engine(Settings().with_(index_dir=root / f"index-{name}", docs=(docs,), include_uploads=False))
            engine.build()
            right, misses = 0, []
            for question, want in QS:
                answer = engine.ask(question)
                if answer.answered and answer.answer == want:
                    right += 1
                else:
                    misses.append((question, answer.answer))
            print(f"{name:24s} right {right}/{len(QS)}  misses {misses}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
