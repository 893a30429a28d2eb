"""Back-office sign-ins kept on the server: a copy of the cookie dies with the sign-in it names."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import BackofficeSignin
from app.people import cashiers, managers
from tests.helpers import MANAGER, hidden_fields, sign_in, text

LOGIN = "/backoffice/login"
SIGNINS = "/backoffice/signins"
HOSTILE = '<script>alert("ua")</script><img src=x onerror=alert(1)>\x00\x1b[31m'


def cashiers_url(store):
    return f"/backoffice/stores/{store}/cashiers"


def copy_of_cookie(app, client):
    """Another browser holding the same cookie, as one copied from this one."""
    thief = app.test_client()
    cookie = client.get_cookie("pos_backoffice", path="/backoffice")
    thief.set_cookie("pos_backoffice", cookie.value, path="/backoffice")
    return thief


def profiles(app, store):
    with app.app_context():
        return [row.profile.name for row in cashiers.list_profiles(store)]


def rows(app):
    with app.app_context():
        return db.session.scalars(select(BackofficeSignin)).all()


def sign_out(client, store):
    html = client.get(cashiers_url(store)).get_data(as_text=True)
    return client.post("/backoffice/logout", data=hidden_fields(html, "/backoffice/logout"))


def end_by_cli(runner, *args):
    result = runner.invoke(args=["manager", *args, MANAGER])
    assert result.exit_code == 0, result.output


ENDINGS = {
    "sign-out": lambda client, runner, store: sign_out(client, store),
    "new password": lambda client, runner, store: end_by_cli(
        runner, "password", "--password", "another-pw"
    ),
    "disabled": lambda client, runner, store: end_by_cli(runner, "disable"),
    "disabled, then enabled again": lambda client, runner, store: (
        end_by_cli(runner, "disable"),
        end_by_cli(runner, "enable"),
    ),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_cookie_copied_before_the_sign_in_ended_reads_nothing_and_adds_no_cashier(
    app, client, runner, manager, store, ending
):
    sign_in(client)
    html = client.get(cashiers_url(store)).get_data(as_text=True)
    form = {**hidden_fields(html, cashiers_url(store)), "name": "Mallory", "password": "1234"}
    thief = copy_of_cookie(app, client)
    assert thief.get(cashiers_url(store)).status_code == 200  # the copy works until then

    ENDINGS[ending](client, runner, store)

    for answer in (thief.get(cashiers_url(store)), thief.post(cashiers_url(store), data=form)):
        assert answer.status_code == 302 and answer.location.startswith(LOGIN)
    assert profiles(app, store) == []
    assert rows(app) == []


def test_the_sign_ins_page_lists_each_browser_and_signs_one_out(app, client, manager, store):
    sign_in(client)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "Phone Browser 1.0"
    sign_in(phone)

    page = client.get(SIGNINS)
    assert page.status_code == 200
    assert "Phone Browser 1.0" in text(page) and "This browser" in text(page)
    assert 'aria-current="page">Sign-ins</a>' in page.get_data(as_text=True)
    assert "Sign-ins" in text(client.get(cashiers_url(store)))  # in the navigation
    [phone_row] = [row for row in rows(app) if row.user_agent == "Phone Browser 1.0"]

    html = page.get_data(as_text=True)
    action = f"{SIGNINS}/{phone_row.id}/end"
    ended = client.post(action, data=hidden_fields(html, action))

    assert ended.location == SIGNINS
    assert "That sign-in has ended" in text(client.get(SIGNINS))
    assert phone.get(cashiers_url(store)).location.startswith(LOGIN)
    assert client.get(cashiers_url(store)).status_code == 200


def test_sign_out_everywhere_ends_every_sign_in_of_the_manager_only(
    app, client, manager, store, make_store
):
    with app.app_context():
        managers.create(UnitOfWork(), "Ines", "ines-pw-1", store_ids=[store])
    other = app.test_client()
    sign_in(other, name="Ines", password="ines-pw-1")
    sign_in(client)
    phone = app.test_client()
    sign_in(phone)

    html = client.get(SIGNINS).get_data(as_text=True)
    action = f"{SIGNINS}/end-all"
    answer = client.post(action, data=hidden_fields(html, action))

    assert answer.location == LOGIN
    assert "You are signed out everywhere" in text(client.get(LOGIN))
    for browser in (client, phone):
        assert browser.get(cashiers_url(store)).location.startswith(LOGIN)
    assert other.get(cashiers_url(store)).status_code == 200


def test_a_manager_cannot_end_another_managers_sign_in(app, client, manager, store):
    with app.app_context():
        managers.create(UnitOfWork(), "Ines", "ines-pw-1", store_ids=[store])
    sign_in(client)
    [olga] = rows(app)
    other = app.test_client()
    sign_in(other, name="Ines", password="ines-pw-1")

    html = other.get(SIGNINS).get_data(as_text=True)
    assert "Olga" not in html and olga.id not in html
    action = f"{SIGNINS}/end-all"
    tokens = hidden_fields(html, action)
    other.post(f"{SIGNINS}/{olga.id}/end", data=tokens)

    assert client.get(cashiers_url(store)).status_code == 200


def test_a_hostile_user_agent_is_shown_escaped(app, client, manager):
    client.environ_base["HTTP_USER_AGENT"] = HOSTILE * 20
    sign_in(client)

    page = client.get(SIGNINS).get_data(as_text=True)

    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;ua&#34;)&lt;/script&gt;" in page
    [row] = rows(app)
    assert len(row.user_agent) == 300 and row.user_agent.isprintable()


def move_last_seen(app, **back):
    """As if the sign-ins had last been seen that long earlier."""
    with app.app_context(), UnitOfWork() as uow:
        for signin in uow.session.scalars(select(BackofficeSignin)):
            signin.last_seen_at -= timedelta(**back)
        uow.commit()


def test_an_idle_sign_in_is_refused_on_the_server_and_cleared_at_the_next_sign_in(
    app, client, manager, store
):
    assert app.config["BACKOFFICE_IDLE_MINUTES"] == 30
    sign_in(client)
    move_last_seen(app, minutes=29)
    assert client.get(cashiers_url(store)).status_code == 200  # a click: seen now
    move_last_seen(app, minutes=29)
    assert client.get(cashiers_url(store)).status_code == 200
    [kept] = rows(app)

    move_last_seen(app, minutes=32)  # the cookie is fresh; the server says no
    assert client.get(cashiers_url(store)).location.startswith(LOGIN)
    assert client.get(SIGNINS).location.startswith(LOGIN)

    sign_in(client)
    assert [row.id for row in rows(app)] != [kept.id]  # the idle one is gone


def last_seen(app):
    [row] = rows(app)
    return row.last_seen_at


def test_last_seen_is_written_at_most_once_a_minute_and_not_by_the_board_refresh(
    app, client, manager, store, sql_log
):
    sign_in(client)
    seen = last_seen(app)
    sql_log.clear()
    for _ in range(3):
        assert client.get(cashiers_url(store)).status_code == 200
    assert not any("UPDATE BACKOFFICE_SIGNIN" in s for s in sql_log)
    assert last_seen(app) == seen

    move_last_seen(app, minutes=5)
    moved = last_seen(app)
    assert client.get(f"/backoffice/stores/{store}/board-table").status_code == 200
    assert last_seen(app) == moved  # a board left open still signs its manager out
    assert client.get(cashiers_url(store)).status_code == 200
    assert last_seen(app) > seen


def test_the_terminal_api_never_reads_the_sign_ins(client, manager, store, headers, sql_log):
    sign_in(client)
    cookie = client.get_cookie("pos_backoffice", path="/backoffice")
    sql_log.clear()

    answer = client.get(
        "/pos-session/profiles", headers={**headers, "Cookie": f"pos_backoffice={cookie.value}"}
    )

    assert answer.status_code == 200
    assert not any("BACKOFFICE_SIGNIN" in s for s in sql_log)
