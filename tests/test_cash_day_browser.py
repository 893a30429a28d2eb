"""Issue 19's story in chromium against gunicorn (see tests/browsing.py): a whole cash day as a
shop has it. The owner adds a card tender and a pay-out reason on the settings page; Ana opens
Till 1 over the terminal API with a note-and-coin count; cash and card sales, a refund, a
pay-out, a no-sale and a drop to the safe; Zoë joins, sells, and takes the drawer over with a
count at the change; she closes it counting the card slip and leaving a float. The manager reads
the board, the Z page (per tender, by note and coin, by attendant, the float) and its print view,
and the day report, whose CSV matches the API to the cent; the next opening on Till 1 shows its
discrepancy at start."""

import csv
import re
from decimal import Decimal
from urllib.parse import urlsplit

import requests

from app.api.auth import issue_token
from tests.browsing import SCREENSHOTS, browser, server, sign_in  # noqa: F401  (fixtures)
from tests.helpers import CLOSE, CREATE, report_url

DESK = {"width": 1024, "height": 768}
ANA, ZOE = "Ana Lopez", "Zoë O'Brien"  # an apostrophe: escaped once, shown as typed
PIN = "4321"
TENDER = "Visa & Mastercard"
CSV_OF_SUMMARY = {  # the day CSV's money columns and the Z summary's keys
    "opening_cash": "openingCash",
    "sales": "sales",
    "refunds": "refunds",
    "pay_ins": "payIns",
    "pay_outs": "payOuts",
    "drops": "drops",
    "expected_cash": "expectedCash",
    "closing_cash": "closingCash",
    "difference": "difference",
}


# What the print view lays out past the receipt printer's 72 mm (main's width in print).
RECEIPT_OVERFLOW = """() => {
  const edge = document.querySelector("main").getBoundingClientRect().right + 0.5;
  return [...document.querySelectorAll("main table, main th, main td")]
    .filter(e => e.getBoundingClientRect().right > edge || e.scrollWidth > e.clientWidth + 1)
    .map(e => e.id || e.textContent.trim().slice(0, 20));
}"""


# The headings of the page whose words the layout splits across lines ("REASO / N").
SPLIT_WORDS = """() => [...document.querySelectorAll("main th")].flatMap(th => {
  const node = th.firstChild;
  if (!node || node.nodeType !== Node.TEXT_NODE) return [];
  return [...node.textContent.matchAll(/\\S+/g)].filter(word => {
    const range = document.createRange();
    range.setStart(node, word.index);
    range.setEnd(node, word.index + word[0].length);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
  }).map(word => `${th.closest("table").id || th.closest("table").className}: ${word[0]}`);
})"""

# The day report's tables that run past their section on the right, and by how much.
PAST_THE_SECTION = """() => [...document.querySelectorAll("main section table")].flatMap(t => {
  const section = t.closest("section");
  const past = t.getBoundingClientRect().right - section.getBoundingClientRect().right;
  return past > 0.5 ? [`${section.getAttribute("aria-labelledby")}: ${past} px`] : [];
})"""


def cells(rows) -> list[list[str]]:
    """Each row's cells as written (the text, not its CSS case), blanks made one."""
    return rows.evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim()))"
    )


def board_row(page, name):
    """The cashier's own row on the board (another's may name it: "Holds Ana's drawer")."""
    return page.get_by_role("row", name=re.compile("^" + re.escape(name)))


def count(*lines):
    return [{"value": value, "count": n} for value, n in lines]


def test_a_whole_cash_day(app, browser, server, store, tmp_path):  # noqa: F811
    with app.app_context():
        token = issue_token([store], "Till 1", 30)
    api = {"Authorization": f"Bearer {token}", "x-store-id": store}

    def post(path, body, status=201):
        answer = requests.post(server.url + path, json=body, headers=api, timeout=10)
        assert answer.status_code == status, answer.text
        return answer.json()["data"]

    def report(session_id):
        return requests.get(server.url + report_url(session_id), headers=api, timeout=10).json()

    requested, console = [], []
    desk = browser.new_page(viewport=DESK, accept_downloads=True)
    desk.on("request", lambda request: requested.append(request.url))
    desk.on("console", lambda message: console.append(message.text))
    sign_in(desk, server.url)

    # The owner sets the store up: a card tender, a pay-out reason, the two cashiers.
    desk.get_by_role("link", name="Settings").click()
    tenders = desk.locator("section[aria-labelledby=tenders]")
    tenders.get_by_label("Kind").select_option("card")
    tenders.get_by_label("Name").fill(TENDER)
    tenders.get_by_role("button", name="Add tender").click()
    desk.wait_for_load_state()
    assert (
        f"The tender {TENDER} was added: terminals send it as card."
        in desk.get_by_role("status").inner_text()
    )
    desk.get_by_label("New reason").fill("Window cleaner")
    desk.get_by_role("button", name="Add reason").click()
    desk.wait_for_load_state()
    desk.get_by_role("link", name="Cashiers").click()
    for name in (ANA, ZOE):
        desk.get_by_label("Name").fill(name)
        desk.get_by_label("Password").fill(PIN)
        desk.get_by_role("button", name="Add cashier").click()
        desk.wait_for_load_state()
        assert f"{name} was added" in desk.get_by_role("status").inner_text()
    profiles = requests.get(server.url + "/pos-session/profiles", headers=api).json()
    ids = {p["name"]: p["id"] for p in profiles}

    # Ana opens Till 1, counting the float note by note: 2x50 + 2x20 + 10 + 4x0.50 = 152.
    opening = count(("50.00", 2), ("20.00", 2), ("10.00", 1), ("0.50", 4))
    body = {"profileId": ids[ANA], "password": PIN, "openningCash": 152, "cashCount": opening}
    answer = requests.post(server.url + CREATE, json=body, headers=api, timeout=10).json()
    session = answer["data"][0]["id"]
    assert answer["data"][0]["discrepancyAtStart"] is None  # Till 1's first day
    moves = f"/pos-session/sessions/{session}/cash-movements"
    for move in (
        {"type": "sale", "amount": 98.5},
        {"type": "sale", "amount": 42, "tender": "card"},
        {"type": "sale", "amount": 61.2},
        {"type": "refund", "amount": 4.9},
        {"type": "pay_out", "amount": 20, "reason": "Window cleaner"},
        {"type": "no_sale", "reason": "change for the baker"},
        {"type": "drop", "amount": 150, "reason": "over the drawer limit"},
    ):
        post(moves, move)
    # Zoë joins with her own PIN and sells; then she takes the drawer, counting it at the change.
    post(f"/pos-session/sessions/{session}/attendants", {"profileId": ids[ZOE], "password": PIN})
    for move in (
        {"type": "sale", "amount": 30},
        {"type": "sale", "amount": 19.9, "tender": "card"},
    ):
        post(moves, {**move, "attendantId": ids[ZOE]})
    at_change = count(("50.00", 2), ("20.00", 3), ("5.00", 1), ("1.00", 1), ("0.50", 1))
    handed = post(
        f"/pos-session/sessions/{session}/handover",
        {"profileId": ids[ZOE], "password": PIN, "cashCount": at_change + count(("0.20", 1))},
    )
    assert (handed["countedCash"], handed["expectedCash"], handed["difference"]) == (
        166.7,
        166.8,
        -0.1,
    )
    for move in (
        {"type": "sale", "amount": 25},
        {"type": "sale", "amount": 12.5, "tender": "card"},
    ):
        post(moves, move)

    # The board, while Zoë holds the drawer Ana opened.
    desk.get_by_role("link", name="Board").click()
    ana_row = board_row(desk, ANA)
    assert "Till 1" in ana_row.inner_text() and "191.80 EUR" in ana_row.inner_text()
    assert "no float left" in ana_row.inner_text()  # nothing to compare on a first day
    assert f"Drawer held by {ZOE}" in ana_row.inner_text()
    zoe_row = board_row(desk, ZOE)
    assert zoe_row.inner_text().split() == f"{ZOE} Holds {ANA}'s drawer".split()
    assert "2 of 2 cashiers working now" in desk.locator("main").inner_text()
    desk.screenshot(path=SCREENSHOTS / "cash-day-board-1024.png", full_page=True)

    # Zoë closes: 191.30 counted, the card slip says 74.00, 150.00 stays for tomorrow.
    closing = count(("50.00", 2), ("20.00", 4), ("10.00", 1), ("1.00", 1), ("0.20", 1))
    closed = post(
        CLOSE,
        {
            "profileId": ids[ZOE],
            "password": PIN,
            "cashCount": closing + count(("0.10", 1)),
            "countedTenders": {"card": 74},
            "floatLeft": 150,
        },
        status=200,
    )["closing"]
    assert (closed["closingCash"], closed["expectedCash"], closed["difference"]) == (
        191.3,
        191.8,
        -0.5,
    )
    assert closed["tenders"] == [
        {"tender": "cash", "expected": 191.8, "counted": 191.3, "difference": -0.5},
        {"tender": "card", "expected": 74.4, "counted": 74, "difference": -0.4},
    ]
    assert (closed["floatLeft"], closed["toSafe"]) == (150, 41.3)
    z = report(session)["data"]

    # The Z page: per tender, the counts by note and coin, by attendant, the float.
    desk.goto(f"{server.url}/backoffice/stores/{store}/sessions/{session}")
    page = desk.locator("main")
    assert f"Z-report · {ANA}" in page.inner_text()
    assert f"by Till 1, counted by {ZOE}" in page.inner_text()  # who closed it, after the handover
    assert "short by 0.50 EUR" in desk.get_by_role("region", name="Difference").inner_text()
    by_tender = cells(desk.locator("#tenders tbody tr"))
    assert by_tender == [
        ["Cash", "191.80 EUR", "191.30 EUR", "short by 0.50 EUR"],
        [TENDER, "74.40 EUR", "74.00 EUR", "short by 0.40 EUR"],  # as the owner named it
    ]
    assert desk.locator("#opening-count tbody tr").last.inner_text().endswith("\t152.00 EUR")
    closing_count = desk.locator("#closing-count tbody tr").all_inner_texts()
    assert closing_count[0] == "50.00 EUR\t× 2\t= 100.00 EUR"
    assert closing_count[-1].endswith("\t191.30 EUR")  # the sum
    by_attendant = cells(desk.locator("#by-attendant tbody tr"))
    assert by_attendant == [  # then each one's card sales: 42.00, and 19.90 + 12.50
        [ANA, "159.70 EUR", "4.90 EUR", "0.00 EUR", "20.00 EUR", "150.00 EUR", "1", "42.00 EUR"],
        [ZOE, "55.00 EUR", "0.00 EUR", "0.00 EUR", "0.00 EUR", "0.00 EUR", "0", "32.40 EUR"],
    ]
    assert desk.locator("#by-attendant tbody th").first.inner_text() == ANA  # a name, as typed
    attendance = desk.locator("#attendance").inner_text()
    assert f"{ZOE} joined" in attendance
    assert (
        f"{ANA} handed the drawer to {ZOE}, counted 166.70 EUR, expected 166.80 EUR: "
        "short by 0.10 EUR"
    ) in attendance
    assert desk.locator("#float-left").inner_text() == "150.00 EUR"
    assert desk.locator("#to-safe").inner_text() == "41.30 EUR"
    paid_out = desk.locator("table.movements tbody tr").filter(has_text="Window cleaner")
    assert paid_out.inner_text().split("\t")[1:5] == ["Pay-out", "Window cleaner", "", "20.00 EUR"]
    desk.screenshot(path=SCREENSHOTS / "cash-day-z-1024.png", full_page=True)
    desk.emulate_media(media="print")  # the page's print view: the report alone, signed
    assert not desk.get_by_role("navigation", name="Sections").is_visible()
    assert desk.get_by_text("Signature:").is_visible()
    assert desk.locator("#closing-count").is_visible() and desk.locator("#tenders").is_visible()
    past_the_paper = desk.evaluate(RECEIPT_OVERFLOW)
    assert past_the_paper == [], "wider than the receipt's 72 mm"
    split = desk.evaluate(SPLIT_WORDS)
    assert split == [], f"headings split mid-word: {split}"
    assert f"counted by {ZOE}" in page.inner_text()
    desk.screenshot(path=SCREENSHOTS / "cash-day-z-print.png", full_page=True)
    desk.emulate_media(media="screen")

    # The day report and its CSV, to the cent of the API's Z.
    desk.get_by_role("link", name="Day report").click()
    desk.wait_for_url("**/days/20*")
    assert desk.locator("#total-drops").inner_text() == "150.00 EUR"
    assert desk.locator("#total-no-sales").inner_text() == "1"
    store_tenders = desk.locator("section[aria-labelledby=store-totals] #tenders tbody tr")
    assert cells(store_tenders) == by_tender
    # The day's tables name the currency once, in the lead: by attendant too.
    assert cells(desk.locator("#by-attendant tbody tr")) == [
        [name, *(figure.removesuffix(" EUR") for figure in figures)]
        for name, *figures in by_attendant
    ]
    assert desk.evaluate(PAST_THE_SECTION) == []
    sessions = desk.locator("section[aria-labelledby=sessions] tbody tr")
    assert "Float left 150.00, to the safe 41.30" in sessions.inner_text()
    desk.screenshot(path=SCREENSHOTS / "cash-day-report-1024.png", full_page=True)
    with desk.expect_download() as download:
        desk.get_by_role("link", name="Download CSV").click()
    download.value.save_as(tmp_path / "day.csv")
    with open(tmp_path / "day.csv", newline="", encoding="utf-8") as f:
        [row] = csv.DictReader(f)
    summary, z_closing = z["summary"], z["closing"]
    [cash, card] = summary["tenders"]
    cents = {
        **{column: summary[key] for column, key in CSV_OF_SUMMARY.items()},
        "float_left": z_closing["floatLeft"],
        "to_safe": z_closing["toSafe"],
        **{f"card_{figure}": card[figure] for figure in ("expected", "counted", "difference")},
    }
    assert {column: row[column] for column in cents} == {
        column: f"{Decimal(str(amount)):.2f}" for column, amount in cents.items()
    }
    assert (row["session_id"], row["cashier"], row["no_sales"]) == (session, ANA, "1")
    assert (cash["expected"], cash["counted"]) == (summary["expectedCash"], summary["closingCash"])
    assert row["attendants"] == f"{ANA}; {ZOE}"
    assert row["attendant_sales"] == "; ".join(f"{a['sales']:.2f}" for a in summary["byAttendant"])
    by_card = (a["tenders"][0]["expected"] for a in summary["byAttendant"])
    assert row["attendant_card_expected"] == "; ".join(f"{amount:.2f}" for amount in by_card)
    assert row["discrepancy_at_start"] == ""

    # The next morning on Till 1, Ana counts 149.50 where 150.00 was left.
    morning = count(("50.00", 2), ("20.00", 2), ("5.00", 1), ("2.00", 2), ("0.50", 1))
    body = {"profileId": ids[ANA], "password": PIN, "cashCount": morning}
    reopened = requests.post(server.url + CREATE, json=body, headers=api, timeout=10).json()
    assert reopened["data"][0]["discrepancyAtStart"] == -0.5
    desk.get_by_role("link", name="Board").click()
    assert "-0.50 EUR: short by 0.50 EUR" in board_row(desk, ANA).inner_text()
    desk.get_by_role("link", name="Day report").click()
    desk.wait_for_url("**/days/20*")
    assert "At start: short by 0.50 against the float left" in sessions.last.inner_text()
    with desk.expect_download() as download:
        desk.get_by_role("link", name="Download CSV").click()
    download.value.save_as(tmp_path / "day.csv")
    with open(tmp_path / "day.csv", newline="", encoding="utf-8") as f:
        next_opening = next(r for r in csv.DictReader(f) if r["session_id"] != session)
    assert (next_opening["opening_cash"], next_opening["discrepancy_at_start"]) == (
        "149.50",
        f"{Decimal(str(reopened['data'][0]['discrepancyAtStart'])):.2f}",
    )

    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
    assert console == []  # no refusal by the CSP, no resource missing (the icon)
