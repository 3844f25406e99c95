"""The reference backend's pages as staff and visitors use them: the counter page (sign in, call, recall,
not come, transfer, pause), the public wait page of one number, and the office's waits; over real HTTP."""

import html
import re
import threading
import time

import pytest
import requests

from entrance_backend.access import Access
from entrance_backend.counter_sessions import SESSION_S, CounterSessions
from entrance_backend.pages import LIVE_WAIT_S
from support import ANSWER_S, wait_for
from support.backend_pages import COUNTERS, DAY, DEVICES, NOW, SITE, PagesOffice, long_polls_open


@pytest.fixture
def office(tmp_path, backend_database):
    with PagesOffice(tmp_path, database=backend_database) as office:
        yield office


def current(page: requests.Response) -> str | None:
    """The code the counter page shows as this counter's current visitor."""
    marker = 'id="current">'
    return page.text.split(marker, 1)[1].split("<", 1)[0] if marker in page.text else None


def message(page: requests.Response) -> str:
    return html.unescape(page.text.split('id="message" role="status">', 1)[1].split("</p>", 1)[0])


# --- the counter page ----------------------------------------------------------------------------


def test_staff_sign_in_with_their_counters_key_and_call_the_next_visitor(office):
    office.issue("A001", "A002")
    staff = office.sign_in(3)
    assert staff.cookies.get("counter_session")
    page = office.act(staff, 3, action="next")
    assert current(page) == "A001" and "A001 aufgerufen" in message(page)
    assert office.office_state()["recent_calls"][0] | {"call": None, "called_at": None} == {
        "code": "A001",
        "counter": 3,
        "kind": "ticket",
        "concern": "leave",
        "call": None,
        "called_at": None,
    }
    assert 'id="waiting"' in page.text and ">A002<" in page.text


def test_staff_read_each_concern_by_its_german_title_and_the_forms_still_send_its_name(office):
    office.issue("A001", "A002")
    office.heartbeat({"leave": {"de": "Urlaub beantragen", "en": "Apply for leave"}})
    staff = office.sign_in(3)
    page = office.act(staff, 3, action="next").text
    assert '<span class="current" id="current">A001</span> Urlaub beantragen' in page
    assert "<td>A002</td><td>Urlaub beantragen</td>" in page
    assert '<option value="leave">Urlaub beantragen</option>' in page
    assert (
        'value="leave"> Urlaub beantragen</label>' in page or 'value="leave" checked> Urlaub beantragen</label>' in page
    )
    assert ">leave<" not in page and "Apply for leave" not in page


def test_the_session_cookie_is_http_only_and_strict_and_the_key_is_never_in_the_page(office):
    session = requests.Session()
    answer = session.post(f"{office.url}/counter", data={"token": COUNTERS[0].token}, allow_redirects=False)
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
    assert COUNTERS[0].token not in session.get(answer.headers["location"].join([office.url, ""])).text


def test_a_wrong_counter_key_is_refused_and_nothing_is_called(office):
    office.issue("A001")
    before = office.office_state()
    answer = requests.post(f"{office.url}/counter", data={"token": "counter-9-key-guessed"})
    assert answer.status_code == 401 and "nicht bekannt" in answer.text
    forged = requests.Session()
    forged.cookies.set("counter_session", "made-up", path="/counter")
    refused = office.act(forged, 3, action="next")
    assert refused.url.endswith("/counter?expired=1") and "abgelaufen" in refused.text
    assert office.office_state() == before


def test_guessing_counter_keys_is_slowed_down_by_the_rate_limit(tmp_path):
    with PagesOffice(tmp_path, rate_limit=0.01) as office:  # one request, then one per 100 s, however slow the machine
        answers = [requests.post(f"{office.url}/counter", data={"token": f"guess-{n}"}).status_code for n in range(3)]
    assert answers == [401, 429, 429]


def test_an_expired_sign_in_calls_nobody_and_asks_to_sign_in_again(office):
    office.issue("A001")
    now = [0.0]
    office.backend.service.pages.sessions = CounterSessions(office.store, clock=lambda: now[0])
    staff = office.sign_in(3)
    now[0] += SESSION_S + 1
    page = office.act(staff, 3, action="next")
    assert "abgelaufen" in page.text and office.office_state()["recent_calls"] == []


def test_a_counter_whose_key_changed_is_signed_out(office):
    staff = office.sign_in(3)
    rekeyed = tuple(c if c.number != 3 else type(c)(c.site, 3, "counter-3-new-key") for c in COUNTERS)
    office.backend.service.apply(Access(DEVICES, rekeyed, "staff-secret"))
    assert "Zugangsschlüssel des Schalters" in staff.get(f"{office.url}/counter/{SITE}/3").text


def test_a_counter_cannot_use_another_counters_or_another_sites_page(office):
    office.issue("A001")
    office.issue("A001", concern="leave", day=DAY)
    before = office.office_state()
    staff = office.sign_in(1, site="nord")
    for path in (f"/counter/{SITE}/1", f"/counter/{SITE}/3"):
        assert staff.get(office.url + path).status_code == 403
        answer = staff.post(office.url + path, data={"action": "next"})
        assert answer.status_code == 403 and "Schalter 1 (nord)" in answer.text
    assert office.office_state() == before


def test_recall_calls_the_current_visitor_again_and_not_come_takes_them_off_the_list(office):
    office.issue("A001", "A002")
    staff = office.sign_in(3)
    office.act(staff, 3, action="next")
    page = office.act(staff, 3, action="recall")
    assert "A001 erneut aufgerufen" in message(page)
    assert [call["code"] for call in office.office_state()["recent_calls"]] == ["A001", "A001"]
    page = office.act(staff, 3, action="not_come")
    assert "A001 als nicht erschienen markiert" in message(page) and current(page) is None
    assert office.office_state()["not_come"] == ["A001"]


def test_recall_of_a_code_never_called_here_is_refused_and_changes_nothing(office):
    office.issue("A001", "A002")
    staff = office.sign_in(3)
    before = office.office_state()
    for code in ("A002", "A999"):
        page = office.act(staff, 3, action="recall", code=code)
        assert f"{code} wurde heute nicht an diesem Schalter aufgerufen" in message(page)
    assert "Kein aktueller Besuch" in message(office.act(staff, 3, action="not_come"))
    assert office.office_state() == before


def test_transfer_keeps_the_number_and_hands_the_visitor_to_a_concern_or_a_counter(office):
    office.issue("A001", "A002")
    office.issue("D001", concern="documents")
    staff = office.sign_in(3)
    office.act(staff, 3, action="next")  # A001
    page = office.act(staff, 3, action="transfer", concern="documents")
    assert "A001 weitergeleitet" in message(page)
    waiting = [(entry["code"], entry["concern"]) for entry in office.office_state()["waiting"]]
    assert waiting == [("A001", "documents"), ("A002", "leave"), ("D001", "documents")]
    office.act(staff, 3, action="transfer", code="A002", counter="2")
    assert office.office_state()["recent_calls"][0]["code"] == "A002"
    assert office.office_state()["recent_calls"][0]["counter"] == 2


def test_a_transfer_to_a_concern_that_does_not_exist_is_refused_and_changes_nothing(office):
    office.issue("A001")
    staff = office.sign_in(3)
    office.act(staff, 3, action="next")
    before = office.office_state()
    for concern in ("visa", "<script>alert(1)</script>"):
        page = office.act(staff, 3, action="transfer", concern=concern)
        assert "Dieses Anliegen gibt es hier nicht; A001 bleibt, wo es war" in message(page)
        assert "<script>alert" not in page.text
    assert "Schalter: eine Nummer" in message(office.act(staff, 3, action="transfer", counter="0"))
    assert "Keine gültige Nummer" in message(office.act(staff, 3, action="transfer", code="<b>x", counter="2"))
    assert office.office_state() == before


def test_a_paused_counter_calls_nobody_and_chosen_concerns_limit_call_next(office):
    office.issue("A001")
    office.issue("D001", concern="documents")
    staff = office.sign_in(3)
    assert 'id="paused"' in office.act(staff, 3, action="pause").text
    assert "Pausiert" in message(office.act(staff, 3, action="next"))
    assert office.office_state()["recent_calls"] == []
    office.act(staff, 3, action="pause")
    office.act(staff, 3, action="concerns", concern=["documents"])
    assert current(office.act(staff, 3, action="next")) == "D001"
    assert "Niemand wartet" in message(office.act(staff, 3, action="next"))


def test_two_counters_calling_next_at_the_same_instant_get_different_visitors(office):
    office.issue(*(f"A{n:03d}" for n in range(1, 21)))
    staff = {number: office.sign_in(number) for number in (1, 2, 3)}
    start = threading.Barrier(3)
    called: dict[int, list[str]] = {number: [] for number in staff}

    def calling(number):
        start.wait()
        for _ in range(5):
            called[number].append(current(office.act(staff[number], number, action="next")))

    threads = [threading.Thread(target=calling, args=(number,)) for number in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(ANSWER_S)
    codes = [code for calls in called.values() for code in calls]
    assert len(codes) == 15 and len(set(codes)) == 15
    assert sorted(call["code"] for call in office.store.office_state(SITE, DAY)["recent_calls"]) == sorted(codes)[5:]


def test_another_counters_page_is_woken_by_a_call(office):
    office.issue("A001", "A002")
    watcher, caller = office.sign_in(1), office.sign_in(3)
    version = office.office_state()["version"]
    answers, asked = [], time.monotonic()
    live = f"{office.url}/counter/{SITE}/1/live"
    poll = threading.Thread(
        target=lambda: answers.append(watcher.get(live, params={"after": version}, timeout=LIVE_WAIT_S + ANSWER_S))
    )
    poll.start()
    wait_for(lambda: long_polls_open(office.url) == 1, what="the live part waiting")
    office.act(caller, 3, action="next")
    poll.join(LIVE_WAIT_S + ANSWER_S)
    assert time.monotonic() - asked < LIVE_WAIT_S  # the call ended the live part's wait
    assert answers[0].headers["X-Office-Version"] != str(version) and ">A001<" not in answers[0].text


def test_a_form_posted_from_another_site_is_refused(office):
    office.issue("A001")
    staff = office.sign_in(3)
    answer = staff.post(f"{office.url}/counter/{SITE}/3", data={"action": "next"}, headers={"Origin": "https://evil"})
    assert answer.status_code == 403 and office.office_state()["recent_calls"] == []


# --- the wait page -------------------------------------------------------------------------------


def test_the_wait_page_shows_the_people_ahead_and_the_wait_as_a_range(office):
    office.issue("A001", "A002", "A003", "A004", "A005", "A006")
    page = office.wait_page("A006", day=DAY)
    assert page.status_code == 200
    assert "Vor Ihnen warten 5 Personen." in page.text
    # The office's forecast before its calls tell more: 4 counters, 8 minutes a visit, so A006 is called
    # when the first counter is free again, in about 8 minutes.
    assert "Wartezeit ca. 1–15 Min." in page.text
    assert '<meta http-equiv="refresh"' in page.text and '<html lang="de" dir="ltr">' in page.text
    assert "Sie sind als Nächstes dran." in office.wait_page("A001").text
    assert "Stand: 09:00" in page.text  # the backend's moment in the office's zone, as German writes a time


def test_the_wait_page_speaks_the_phones_language_with_german_beside_it(office):
    office.issue("A001", "A002", "A003")
    page = office.wait_page("A003", accept_language="en-GB,en;q=0.9,de;q=0.5").text
    assert '<html lang="en" dir="ltr">' in page
    assert "2 people are ahead of you." in page and "Vor Ihnen warten 2 Personen." in page
    assert re.search(r"Estimated wait: \d+–\d+ min\.", page) and re.search(r"Wartezeit ca\. \d+–\d+ Min\.", page)
    assert "As of 9:00\u202fAM" in page  # Babel: English writes 9:00 AM
    ukrainian = office.wait_page("A002", accept_language="uk-UA,uk;q=0.9").text
    assert "Перед вами 1 особа." in ukrainian and "Vor Ihnen wartet 1 Person." in ukrainian


def test_the_visitors_choice_wins_over_the_phone_and_an_unknown_language_gives_german(office):
    office.issue("A001", "A002")
    page = office.wait_page("A002", accept_language="en", lang="fa")
    assert page.status_code == 200 and '<html lang="fa" dir="rtl">' in page.text
    assert "1 نفر جلوتر از شماست." in page.text
    for unknown in ("xx", "", "de-DE", "<script>"):
        page = office.wait_page("A002", accept_language="en", lang=unknown)
        assert page.status_code == 200 and '<html lang="de" dir="ltr">' in page.text, unknown
        assert "Vor Ihnen wartet 1 Person." in page.text and "ahead of you" not in page.text, unknown


def test_every_language_is_offered_in_its_own_script_and_the_choice_keeps_the_day(office):
    office.issue("A001")
    page = office.wait_page("A001", day=DAY, lang="tr").text
    for code, name in (
        ("de", "Deutsch"),
        ("en", "English"),
        ("uk", "Українська"),
        ("ar", "العربية"),
        ("ru", "Русский"),
        ("fa", "فارسی"),
    ):
        assert f'<a href="?day={DAY}&amp;lang={code}" lang="{code}" hreflang="{code}">{name}</a>' in page
    assert '<strong lang="tr" aria-current="page">Türkçe</strong>' in page
    assert f'<a href="/w/{SITE}?lang=tr">' in page  # the office's waits in the same language


def test_the_wait_page_says_which_counter_calls_once_called(office):
    office.issue("A001")
    staff = office.sign_in(3)
    office.act(staff, 3, action="next")
    assert "Sie werden aufgerufen: Schalter 3" in office.wait_page("A001").text
    page = office.wait_page("A001", lang="en")
    assert "You are being called: counter 3" in page.text and "Sie werden aufgerufen: Schalter 3" in page.text


@pytest.mark.parametrize(
    ("setup", "code", "query", "status", "says"),
    [
        (lambda office: None, "A777", {}, 404, "Diese Nummer kennen wir heute nicht."),
        (lambda office: office.issue("A001"), "A001", {"day": "2026-03-08"}, 404, "Sie war für den 08.03.2026."),
        (lambda office: office.issue("A001"), "A001", {"day": "gestern"}, 404, "Diese Nummer gilt heute nicht."),
        (lambda office: (office.issue("A001"), office.void("A001")), "A001", {}, 200, "nicht gültig"),
    ],
)
def test_an_unknown_void_or_yesterdays_number_gets_a_plain_answer(office, setup, code, query, status, says):
    setup(office)
    page = office.wait_page(code, **query)
    assert page.status_code == status and says in page.text and "Vor Ihnen" not in page.text


def test_a_script_in_the_wait_pages_address_is_never_reflected(office):
    for path in (
        f"/w/{SITE}/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        f"/w/{SITE}/A001?day=%3Cscript%3Ealert(1)%3C/script%3E",
        "/w/%3Cscript%3E/A001",
        f"/w/{SITE}/%22%3E%3Cimg%20src=x%3E",
    ):
        page = requests.get(office.url + path, timeout=ANSWER_S)
        assert page.status_code == 404, path
        assert "<script>" not in page.text and "<img" not in page.text and "alert" not in page.text


def test_the_wait_page_tells_nothing_about_anyone_else_but_counts(office):
    office.issue("A001", "A002", "A003")
    office.issue("D001", concern="documents")
    page = office.wait_page("A002").text
    assert "A002" in page and not any(other in page for other in ("A001", "A003", "D001", "documents"))


def test_the_wait_page_is_one_small_response_without_external_resources(office):
    office.issue("A001", "A002")
    page = office.wait_page("A002")
    assert len(page.content) <= 15_000
    assert "<script" not in page.text and "src=" not in page.text and "<link" not in page.text


def test_the_office_page_shows_the_waits_per_concern(office):
    office.issue("A001", "A002", "A003")
    office.issue("D001", "D002", concern="documents")
    office.heartbeat({"leave": {"de": "Urlaub beantragen", "en": "Apply for leave"}, "documents": {"de": "Unterlagen"}})
    page = office.office_page()
    assert page.status_code == 200
    # The office's forecast for a newcomer of either concern (one queue): 5 wait for 4 counters (8 minutes
    # a visit until calls tell), so the newcomer waits for the first counter free again.
    assert "<td>Urlaub beantragen</td><td>3</td><td>ca. 8 Min.</td>" in page.text
    assert "<td>Unterlagen</td><td>2</td><td>ca. 8 Min.</td>" in page.text
    assert "A001" not in page.text and "leave" not in page.text and "documents" not in page.text
    assert requests.get(f"{office.url}/w/sued", timeout=ANSWER_S).status_code == 404


def test_the_office_page_names_each_concern_in_the_pages_language_and_in_german(office):
    office.issue("A001")
    office.issue("D001", concern="documents")
    office.heartbeat({"leave": {"de": "Urlaub beantragen", "en": "Apply for leave"}, "documents": {"de": "Unterlagen"}})
    page = office.office_page(lang="en").text
    assert '<td>Apply for leave<br><span class="de" lang="de" dir="ltr">Urlaub beantragen</span></td>' in page
    assert "<td>Unterlagen</td>" in page  # no English title: the German one
    assert re.search(r"about \d+ min", page) and "Current waiting times" in page


def test_until_a_device_tells_the_titles_the_office_page_shows_the_name_in_words(office):
    office.issue("F001", concern="first-application")
    assert "<td>first application</td>" in office.office_page().text


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_count_requests_long_polls_events_and_when_devices_were_last_seen(office):
    office.issue("A001", "A002")
    office.heartbeat()
    office.wait_page("A001")
    watcher = office.sign_in(1)
    version = office.office_state()["version"]
    poll = threading.Thread(
        target=lambda: watcher.get(
            f"{office.url}/counter/{SITE}/1/live", params={"after": version}, timeout=LIVE_WAIT_S + ANSWER_S
        )
    )
    poll.start()
    wait_for(lambda: long_polls_open(office.url) == 1, what="the live part waiting")
    metrics = requests.get(f"{office.url}/metrics", timeout=ANSWER_S).text
    office.act(office.sign_in(3), 3, action="next")
    poll.join(LIVE_WAIT_S + ANSWER_S)
    assert "entrance_backend_long_polls_open 1.0" in metrics
    assert 'entrance_backend_requests_total{method="GET",route="/w/{site}/{code:path}",status="200"} 1.0' in metrics
    assert "entrance_backend_events_applied_total 2.0" in metrics
    assert 'entrance_backend_device_last_seen_timestamp_seconds{device="kiosk-1",site="mitte"} 1.7730432e+09' in metrics


def test_a_booked_appointment_not_yet_checked_in_is_asked_to_check_in_at_the_kiosk(office):
    office.store.add_appointments(
        [
            {
                "site": SITE,
                "day": DAY,
                "slot": "09:30",
                "concern": "leave",
                "display_code": "T001",
                "reference": "K7Q2MX",
            }
        ],
        NOW,
    )
    page = office.wait_page("T001")
    assert page.status_code == 200 and "Bitte melden Sie sich bei Ankunft am Kiosk an" in page.text
    assert "K7Q2MX" not in page.text
