"""Text that is not a support ticket, to set and to test the `unfamiliar` threshold.

Three kinds, each split in two by a fixed hash (`choose` may set the threshold, `test`
only measures): docstrings of the Python standard library (code documentation, read from
the running interpreter, never committed), chit-chat and news-like sentences written for
this project, and Python tracebacks produced here by failing calls.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import traceback
from pathlib import Path

STDLIB_MODULES = (
    "argparse",
    "asyncio",
    "base64",
    "bisect",
    "calendar",
    "collections",
    "configparser",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email",
    "enum",
    "fractions",
    "functools",
    "gettext",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http.client",
    "http.cookies",
    "imaplib",
    "inspect",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "logging",
    "mailbox",
    "mimetypes",
    "operator",
    "optparse",
    "pathlib",
    "pickle",
    "pprint",
    "queue",
    "random",
    "re",
    "sched",
    "secrets",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "smtplib",
    "socket",
    "sqlite3",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "timeit",
    "tokenize",
    "typing",
    "unittest",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "wave",
    "weakref",
    "xml.dom.minidom",
    "zipfile",
    "zoneinfo",
)

WRITTEN = [
    # chit-chat
    "haha that's so true, my cat does exactly the same thing every morning at six",
    "Did you watch the game last night? What a finish, I still can't believe that last goal.",
    "I'm thinking of making lasagna for dinner tonight, does anyone have a good recipe to share?",
    "Good morning everyone! Hope you all have a lovely weekend, the weather looks amazing.",
    "lol no way, we went to that exact same beach last summer and it rained the whole time",
    "Happy birthday Sarah!! Have the best day and eat way too much cake 🎂",
    "Honestly the new season of that show is so much better than the first one, no spoilers",
    "We're going hiking on Saturday if anyone wants to join, meet at the trailhead at 9",
    "My grandmother used to say that a cup of tea fixes everything, and she was usually right.",
    "anyone know a good dentist near the city centre? mine just retired",
    "I finally finished the marathon training plan, sixteen weeks of early mornings done!",
    "Is it just me or does Monday feel like it lasted about three days this week",
    "The kids built a snowman taller than the garden shed this afternoon, best day ever",
    "What's everyone reading at the moment? I need a new book for the train",
    "we should totally get pizza after the movie, I'm starving already",
    "Can't decide between a road trip to the coast or a week in the mountains this summer.",
    "That concert was incredible, my ears are still ringing but it was worth every minute",
    "Just adopted a puppy named Biscuit and he has already chewed through two slippers",
    "The bakery on the corner finally reopened and their croissants are as good as ever",
    "I tried yoga for the first time today and discovered muscles I didn't know I had",
    # news-like
    "The central bank left interest rates unchanged on Thursday, citing easing inflation and a cooling labour market.",
    "Heavy rain caused flooding across several northern towns overnight, with dozens of roads closed and schools shut.",
    "The city council approved plans for a new tram line linking the airport to the main railway station by 2030.",
    "Scientists have discovered a new species of frog in the cloud forests of Ecuador, the research team announced.",
    "The home side won the championship final 3-1 after two late goals in front of a sold-out stadium.",
    "Shares in the carmaker fell sharply after it cut its full-year profit forecast amid weaker demand in Europe.",
    "A spokesperson for the ministry said talks between the two governments would resume next month in Geneva.",
    "The museum will reopen its renovated east wing in spring, featuring a collection of medieval manuscripts.",
    "Firefighters brought the wildfire under control after three days, though hundreds of residents remain evacuated.",
    "The film festival opened on Wednesday with a premiere attended by the director and most of the cast.",
    "Election officials said turnout was the highest in two decades, with final results expected on Monday.",
    "The space agency confirmed that its probe entered orbit around Jupiter's moon after a seven-year journey.",
    "Researchers report that a daily walk of thirty minutes is linked to a lower risk of heart disease in older adults.",
    "The union announced a two-day strike at the port, warning of delays to freight shipments across the region.",
    "Local farmers expect a strong harvest this year after a mild spring and steady summer rainfall.",
    "The orchestra's new conductor was praised by critics for a bold interpretation of Mahler's fifth symphony.",
    "Police closed the motorway for several hours after a lorry overturned near junction twelve early on Sunday.",
    "The tech giant unveiled a new line of laptops at its annual conference, promising longer battery life.",
    "A rare total solar eclipse will be visible across parts of Spain and Iceland next August, astronomers said.",
    "The government published a report recommending changes to how secondary school exams are graded.",
]


def _bucket(key: str) -> str:
    return "choose" if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 2 == 0 else "test"


def docstrings() -> dict[str, list[str]]:
    """First paragraphs (≥ 12 words) of stdlib docstrings, split choose/test by module name."""
    out: dict[str, list[str]] = {"choose": [], "test": []}
    for name in STDLIB_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        seen: set[str] = set()
        for obj_name, obj in sorted(vars(module).items()):
            if obj_name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            para = re.sub(r"\s+", " ", doc.split("\n\n")[0]).strip()[:600]
            if len(para.split()) >= 12 and para not in seen:
                seen.add(para)
                out[_bucket(name)].append(para)
    return out


def tracebacks() -> dict[str, list[str]]:
    """Real tracebacks of failing standard-library calls, as pasted into a chat."""
    calls = [
        lambda: int("twelve"),
        lambda: {}["missing_key"],
        lambda: [1, 2][5],
        lambda: Path("/nonexistent/config.yaml").read_text(),
        lambda: __import__("json").loads("{not json"),
        lambda: 1 / 0,
        lambda: None.split(","),
        lambda: __import__("datetime").datetime.strptime("2024-13-45", "%Y-%m-%d"),
        lambda: "abc" + 5,
        lambda: __import__("decimal").Decimal("1.5.2"),
        lambda: __import__("ipaddress").ip_address("999.1.1.1"),
        lambda: __import__("base64").b64decode("abc"),
    ]
    out: dict[str, list[str]] = {"choose": [], "test": []}
    for i, call in enumerate(calls):
        try:
            call()
        except Exception:
            out[_bucket(f"tb{i}")].append(traceback.format_exc())
    return out


def written() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"choose": [], "test": []}
    for text in WRITTEN:
        out[_bucket(text)].append(text)
    return out
