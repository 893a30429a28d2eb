"""The back-office page through the test client: sign-in, cookie, scope, cashiers, settings."""

import re
import time

import pytest

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PosProfile, Store
from app.people import cashiers, managers
from app.stores import update_store
from tests.helpers import MANAGER, MANAGER_PASSWORD, PASSWORD, hidden_fields, sign_in, submit, text


def cashiers_url(store):
    return f"/backoffice/stores/{store}/cashiers"


# Sign-in and the cookie


def test_sign_in_sets_a_strict_httponly_cookie_and_leads_to_the_store(client, manager, store):
    response = sign_in(client)

    assert response.status_code == 302 and response.location == "/backoffice/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/backoffice" in cookie
    assert "Secure" not in cookie
    assert client.get("/backoffice/").location == f"/backoffice/stores/{store}/"
    assert "Cashiers" in text(client.get(cashiers_url(store)))


def test_the_cookie_is_secure_over_https(client, manager):
    html = client.get("/backoffice/login", base_url="https://box.lan").get_data(as_text=True)
    token = hidden_fields(html, "/backoffice/login")
    response = client.post(
        "/backoffice/login",
        base_url="https://box.lan",
        headers={"Referer": "https://box.lan/backoffice/login"},  # checked on HTTPS
        data={**token, "name": MANAGER, "password": MANAGER_PASSWORD},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_wrong_password_is_refused_on_the_page_and_keeps_the_name(client, manager):
    response = sign_in(client, name="olga", password="nope")

    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "The name or the password is wrong." in page
    assert 'value="olga"' in page and "nope" not in page


def test_sign_in_is_locked_after_too_many_wrong_passwords(app, client, manager):
    for _ in range(app.config["LOCKOUT_ATTEMPTS"]):
        assert sign_in(client, password="nope").status_code == 401
    locked = sign_in(client)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in text(locked)


def test_csrf_token_is_required(client, manager, store):
    refused = client.post("/backoffice/login", data={"name": MANAGER, "password": MANAGER_PASSWORD})
    assert refused.status_code == 400 and "nothing was changed" in text(refused)

    sign_in(client)
    html = client.get(cashiers_url(store)).get_data(as_text=True)
    fields = hidden_fields(html, cashiers_url(store))
    del fields["csrf_token"]
    added = client.post(cashiers_url(store), data={**fields, "name": "ana", "password": "1234"})
    assert added.status_code == 400
    assert cashier_names(client.application, store) == []


def cashier_names(app, store):
    with app.app_context():
        return [row.profile.name for row in cashiers.list_profiles(store)]


def test_pages_need_a_sign_in_and_a_terminal_token_does_not_open_them(
    client, manager, store, headers
):
    for url in ("/backoffice/", cashiers_url(store), f"/backoffice/stores/{store}/settings"):
        response = client.get(url, headers=headers)
        assert response.status_code == 302 and response.location.startswith("/backoffice/login")


def test_the_page_cookie_does_not_open_the_terminal_api(client, manager, store):
    sign_in(client)
    cookie = client.get_cookie("pos_backoffice", path="/backoffice")
    response = client.get(
        "/pos-session/profiles",
        headers={"x-store-id": store, "Cookie": f"pos_backoffice={cookie.value}"},
    )
    assert response.status_code == 401
    assert response.get_json()["message"] == "Missing or malformed Authorization header"


def test_sign_out(client, manager, store):
    sign_in(client)
    html = client.get(cashiers_url(store)).get_data(as_text=True)
    response = client.post("/backoffice/logout", data=hidden_fields(html, "/backoffice/logout"))
    assert response.location == "/backoffice/login"
    assert client.get(cashiers_url(store)).status_code == 302


def test_flask_login_runs_on_the_page_only(client, headers, manager):
    # Its remember-me hook, after an API request, would read the session: Vary: Cookie.
    assert "Vary" not in client.get("/pos-session/profiles", headers=headers).headers
    sign_in(client)
    assert "Cookie" in client.get("/backoffice/").headers["Vary"]


def test_idle_sign_out_after_the_configured_minutes(app, client, manager, store, monkeypatch):
    assert app.config["BACKOFFICE_IDLE_MINUTES"] == 30
    sign_in(client)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 29 * 60)
    assert client.get(cashiers_url(store)).status_code == 200  # a click: the clock restarts
    monkeypatch.setattr(time, "time", lambda: now + 58 * 60)
    assert client.get(cashiers_url(store)).status_code == 200
    monkeypatch.setattr(time, "time", lambda: now + 89 * 60)
    assert client.get(cashiers_url(store)).status_code == 302


def test_a_new_password_or_disabling_signs_the_manager_out(app, client, manager, store):
    sign_in(client)
    with app.app_context():
        managers.set_password(UnitOfWork(), MANAGER, "another-pw")
    assert client.get(cashiers_url(store)).status_code == 302

    sign_in(client, password="another-pw")
    with app.app_context():
        managers.set_enabled(UnitOfWork(), MANAGER, False)
    assert client.get(cashiers_url(store)).status_code == 302


def test_the_page_allows_only_its_own_origin(client, manager, store):
    sign_in(client)
    for url in (cashiers_url(store), "/backoffice/login", "/backoffice/static/backoffice.css"):
        policy = client.get(url).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "http" not in policy
    page = client.get(cashiers_url(store)).get_data(as_text=True)
    assert "<script" not in page and "style=" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


# Stores: scope and switcher


def test_a_manager_of_store_a_sees_and_touches_nothing_of_store_b(
    app, client, manager, store, make_store, make_profile
):
    other = make_store("Other")
    bob = make_profile(other, "bob")
    sign_in(client)
    ours = client.get(cashiers_url(store)).get_data(as_text=True)

    assert client.get(cashiers_url(other)).status_code == 404
    assert client.get(f"/backoffice/stores/{other}/settings").status_code == 404
    assert client.get(f"/backoffice/?store={other}").status_code == 404
    assert client.get(f"/backoffice/stores/{store}/cashiers/{bob}").status_code == 404
    # A form of our store, aimed at theirs or at their cashier: refused, nothing changed.
    tokens = hidden_fields(ours, cashiers_url(store))
    assert (
        client.post(
            cashiers_url(other), data={**tokens, "name": "x", "password": "1234"}
        ).status_code
        == 404
    )
    for action in ("disable", "unlock", "rename"):
        url = f"/backoffice/stores/{store}/cashiers/{bob}/{action}"
        fresh = client.get(cashiers_url(store)).get_data(as_text=True)
        tokens = hidden_fields(fresh, cashiers_url(store))
        assert client.post(url, data={**tokens, "name": "y"}).status_code == 404
    assert "Other" not in ours
    with app.app_context():
        profile = db.session.get(PosProfile, bob)
        assert (profile.name, profile.enabled) == ("bob", True)
        assert cashiers.list_profiles(other)[0].profile.name == "bob"


def test_store_switcher_for_a_manager_of_several_stores(app, client, store, make_store):
    other = make_store("Harbour")
    with app.app_context():
        managers.create(UnitOfWork(), MANAGER, MANAGER_PASSWORD, store_ids=[store, other])
    sign_in(client)

    page = client.get(cashiers_url(store)).get_data(as_text=True)
    assert 'name="store"' in page and "Harbour" in page
    assert client.get(f"/backoffice/?store={other}").location == f"/backoffice/stores/{other}/"
    assert client.get(cashiers_url(other)).status_code == 200
    assert client.get("/backoffice/").location == f"/backoffice/stores/{other}/"  # remembered


# Cashiers


def test_add_a_cashier(app, client, manager, store):
    sign_in(client)
    response = submit(
        client, cashiers_url(store), cashiers_url(store), name=" Ana ", password="1234"
    )

    assert response.status_code == 302
    page = text(client.get(cashiers_url(store)))
    assert "Ana was added" in page and "Not working" in page
    with app.app_context():
        [row] = cashiers.list_profiles(store)
    assert row.profile.name == "Ana"


def test_add_a_cashier_with_bad_input_shows_errors_next_to_the_fields_and_keeps_the_name(
    client, manager, store, make_profile
):
    make_profile(store, "Ana")
    sign_in(client)
    taken = submit(client, cashiers_url(store), cashiers_url(store), name="ana", password="pw-x")
    empty = submit(client, cashiers_url(store), cashiers_url(store), name="  ", password="")

    assert taken.status_code == 409
    page = taken.get_data(as_text=True)
    assert re.search(r'id="name"[^>]*value="ana"[^>]*aria-invalid="true"', page)
    assert 'id="name-error">This name is already taken.' in page
    assert "pw-x" not in page
    assert empty.status_code == 400
    assert 'id="password-error">Must not be empty.' in empty.get_data(as_text=True)
    assert cashier_names(client.application, store) == ["Ana"]


def test_the_password_rule_is_shown_beside_the_field_before_it_is_broken(
    client, manager, store, profile
):
    sign_in(client)
    rule = "At least 4 characters; a 4-digit PIN will do."
    for url, field in (
        (cashiers_url(store), "password"),
        (f"{cashiers_url(store)}/{profile}", "reset-password"),
    ):
        html = client.get(url).get_data(as_text=True)
        assert f'<p class="hint" id="{field}-hint">{rule}' in html
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-hint"', html)
    short = submit(client, cashiers_url(store), cashiers_url(store), name="Ana", password="123")
    html = short.get_data(as_text=True)
    assert rule in html and 'id="password-error">Must be at least 4 characters.' in html


def test_a_double_submitted_form_acts_once(client, manager, store):
    sign_in(client)
    html = client.get(cashiers_url(store)).get_data(as_text=True)
    data = {**hidden_fields(html, cashiers_url(store)), "name": "Ana", "password": "1234"}

    first = client.post(cashiers_url(store), data=data)
    second = client.post(cashiers_url(store), data=data)

    assert first.status_code == second.status_code == 302
    assert "nothing was done a second time" in text(client.get(cashiers_url(store)))
    assert cashier_names(client.application, store) == ["Ana"]


def test_rename_reset_password_disable_enable_unlock(
    app, client, manager, store, profile, headers, open_body
):
    sign_in(client)
    page = f"{cashiers_url(store)}/{profile}"

    renamed = submit(client, page, f"{page}/rename", name="Alice B")
    assert "alice is now called Alice B." in text(client.get(cashiers_url(store)))
    reset = submit(client, page, f"{page}/password", password="new-pin")
    assert "password was changed" in text(client.get(cashiers_url(store)))
    disabled = submit(client, cashiers_url(store), f"{page}/disable")
    listing = text(client.get(cashiers_url(store)))
    assert "Alice B is disabled" in listing and "Disabled" in listing
    enabled = submit(client, cashiers_url(store), f"{page}/enable")
    assert "Alice B is enabled" in text(client.get(cashiers_url(store)))
    assert all(r.status_code == 302 for r in (renamed, reset, disabled, enabled))

    wrong = {**open_body, "password": "wrong"}
    for _ in range(app.config["LOCKOUT_ATTEMPTS"]):
        client.post("/pos-session/create-session", json=wrong, headers=headers)
    assert "Locked" in text(client.get(cashiers_url(store)))
    submit(client, cashiers_url(store), f"{page}/unlock")
    assert "Alice B is unlocked" in text(client.get(cashiers_url(store)))
    opened = client.post(
        "/pos-session/create-session", json={**open_body, "password": "new-pin"}, headers=headers
    )
    assert opened.status_code == 200
    assert re.search(r"Open since \d\d:\d\d, 0 min", text(client.get(cashiers_url(store))))


def test_rename_with_bad_input_is_shown_on_the_cashier_page(client, manager, store, make_profile):
    ana, _ = make_profile(store, "Ana"), make_profile(store, "Bob")
    sign_in(client)
    page = f"{cashiers_url(store)}/{ana}"
    response = submit(client, page, f"{page}/rename", name="BOB")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="rename-name-error">This name is already taken' in html
    assert 'value="BOB"' in html


def test_empty_store_says_what_to_do(client, manager, store):
    sign_in(client)
    assert "No cashier yet. Add the first one above." in text(client.get(cashiers_url(store)))


# Store settings


def test_store_settings_page_saves_and_refuses_bad_input(app, client, manager, store):
    sign_in(client)
    url = f"/backoffice/stores/{store}/settings"
    values = {
        "name": "Bar du Port",
        "timezone": "Europe/Paris",
        "day_start": "04:00",
        "stale_after_hours": "12",
        "currency": "CHF",
    }
    saved = submit(client, url, url, **values)
    assert saved.status_code == 302 and "settings were saved" in text(client.get(url))
    bad = submit(client, url, url, **{**values, "timezone": "Paris", "currency": "Franc"})

    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'id="timezone-error"' in html and 'id="currency-error"' in html
    assert 'value="Paris"' in html
    with app.app_context():
        row = db.session.get(Store, store)
        assert (row.name, row.timezone, row.day_start_minutes) == (
            "Bar du Port",
            "Europe/Paris",
            240,
        )
        assert (row.stale_after_hours, row.currency) == (12, "CHF")


def test_money_filter_uses_the_store_currency(app):
    from decimal import Decimal

    from app.backoffice.filters import money

    assert money(Decimal("1234567.5"), "EUR") == "1,234,567.50 EUR"
    assert money(Decimal("-0.05"), "USD") == "-0.05 USD"
    assert money(None, "EUR") == "-"


def test_days_and_times_are_written_one_way_and_days_read_the_way_they_are_written(app):
    from datetime import date, datetime

    from app.backoffice.filters import day_text, read_day, store_time_text

    assert day_text(date(2026, 12, 3)) == "3 Dec 2026"
    assert store_time_text(datetime(2026, 12, 3, 7, 2), "Europe/Paris") == "3 Dec 2026 08:02"
    assert store_time_text(datetime(2027, 1, 1, 7, 2), "UTC") == "1 Jan 2027 07:02"
    for typed in ("3 Dec 2026", " 3  dec 2026 ", "03 DEC. 2026", "3 December 2026", "2026-12-03"):
        assert read_day(typed) == date(2026, 12, 3), typed
    assert read_day("3 Sept 2026") == date(2026, 9, 3)
    for typed in ("", None, "3/12/2026", "12/3/2026", "Dec 3 2026", "31 Feb 2026", "3 Ju 2026",
                  "3 Dex 2026", "2026-02-30", "3 Dec", "yesterday"):  # fmt: skip
        assert read_day(typed) is None, typed


def test_open_session_time_is_shown_in_the_store_zone(app, client, manager, store, headers):
    with app.app_context():
        update_store(UnitOfWork(), store, timezone="Asia/Kolkata")  # UTC+05:30, no DST
        profile = cashiers.create(UnitOfWork(), "ana", PASSWORD, store_id=store)
    body = {"profileId": profile, "openningCash": 100, "password": PASSWORD}
    opened = client.post("/pos-session/create-session", json=body, headers=headers).get_json()
    utc = opened["data"][0]["createdAt"]
    hour, minute = int(utc[11:13]), int(utc[14:16])
    local = (hour * 60 + minute + 330) % (24 * 60)
    sign_in(client)
    page = text(client.get(cashiers_url(store)))
    assert f"since {local // 60:02d}:{local % 60:02d}" in page
    assert "Times are in Asia/Kolkata." in page


def test_the_board_refreshing_itself_does_not_keep_the_manager_signed_in(
    app, client, manager, store, monkeypatch
):
    sign_in(client)
    now = time.time()
    table = f"/backoffice/stores/{store}/board-table"
    for minutes in (10, 20, 29):
        monkeypatch.setattr(time, "time", lambda m=minutes: now + m * 60)
        answered = client.get(table)
        assert answered.status_code == 200 and "Set-Cookie" not in answered.headers
    monkeypatch.setattr(time, "time", lambda: now + 31 * 60)
    assert client.get(table).status_code == 302


@pytest.mark.parametrize(
    "path, section",
    [
        ("/", "Board"),
        ("/sessions", "Sessions"),
        ("/days/", "Day report"),
        ("/variances", "Variances"),
        ("/cashiers", "Cashiers"),
        ("/terminals", "Terminals"),
        ("/journal", "Journal"),
        ("/settings", "Settings"),
    ],
)
def test_each_section_of_the_navigation_marks_its_own_page_only(
    client, manager, store, path, section
):
    sign_in(client)
    page = client.get(f"/backoffice/stores/{store}{path}", follow_redirects=True)
    marked = re.findall(r'aria-current="page">([^<]+)</a>', page.get_data(as_text=True))
    assert marked == [section]
