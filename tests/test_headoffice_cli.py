"""Head office's ``shop add`` and ``shop token``: bad input is a CLI error before anything is
looked up (the database here is a PostgreSQL nobody listens on, so a lookup would fail
otherwise), and a token is taken only as the box prints it."""

import pytest

from app.headoffice import create_headoffice_app

NOBODY = "postgresql://pos@127.0.0.1:9/none"  # port 9: discard, nothing answers
STORE = "w0ku14ch2x7mr6lb2l4cucv0"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


@pytest.fixture
def runner(tmp_path):
    app = create_headoffice_app({"DATABASE_URL": NOBODY, "SECRET_KEY": "k" * 32})
    app.instance_path = str(tmp_path)
    return app.test_cli_runner()


def add(runner, *args, store=STORE, name="Shop 12", url="https://shop-12.lan", token=TOKEN):
    options = ["--name", name, "--url", url, "--token", token]
    return runner.invoke(args=["headoffice", "shop", "add", store, *options, *args])


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"store": "x" * 25}, "a store id is 1 to 24 letters and digits"),
        ({"store": ""}, "a store id is 1 to 24 letters and digits"),
        ({"store": "a b"}, "a store id is 1 to 24 letters and digits"),
        ({"name": "n" * 121}, "a name is 1 to 120 characters"),
        ({"name": "  "}, "a name is 1 to 120 characters"),
        ({"name": "Shop\n12"}, "cannot hold a control character"),
        ({"url": "ftp://shop-12.lan"}, "a URL of the box: http:// or https://"),
        ({"url": "http://"}, "a URL of the box: http:// or https://"),
        ({"url": "https://shop-12.lan:port"}, "the port is not a number"),
        ({"url": "https://u:pw@shop-12.lan"}, "no user, password, query or fragment"),
        ({"url": "https://shop-12.lan/?x=1"}, "no user, password, query or fragment"),
        ({"url": "https://shop-12.lan/" + "p" * 500}, "a URL of the box"),
        ({"token": TOKEN[:9] + "\r\n" + TOKEN[9:]}, "paste the token as token issue --follower"),
        ({"token": "Bearer " + TOKEN}, "paste the token as token issue --follower printed it"),
    ],
)
def test_shop_add_refuses_bad_input_before_any_lookup(runner, given, message):
    result = add(runner, **given)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "OperationalError" not in result.output  # never reached the database


def test_shop_token_refuses_a_pasted_line_break_before_any_lookup(runner):
    result = runner.invoke(args=["headoffice", "shop", "token", STORE, "--token", "a\nb"])
    assert result.exit_code == 2 and "paste the token as" in result.output


def test_good_input_goes_on_to_the_database(runner):
    result = add(runner)  # valid: the lookup is the first thing that fails here
    assert result.exit_code != 0 and "paste" not in result.output
    assert "a store id" not in result.output and "a URL" not in result.output
