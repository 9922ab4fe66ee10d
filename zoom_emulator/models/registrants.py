"""A meeting's (or webinar's) registrants and a meeting's registration questions, as Zoom keeps
them (no HTTP here).

Registrants are added by :func:`zoom_emulator.models.meetings.register`; this module lists them,
changes their status, deletes them, and keeps the meeting's registration questions. Every call
needs registration on (:func:`~zoom_emulator.models.meetings.check_registration_open`: 404 code
404 otherwise for a meeting, 400 code 3000 for a webinar, as the spec lists). Choices where Zoom is vague, documented here:

* ``cancel`` (of an approved registrant) lists them as ``denied``, the spec's list knowing only
  ``approved``, ``denied`` and ``pending``; setting the status a registrant already has changes
  nothing, so the same ``PUT`` sent twice has the effect of one; a registrant has one status for
  all occurrences (the ``occurrence_id`` of a status change is ignored);
* a registrant a status change names that the meeting does not have is 400 code 300 (field
  ``registrants``), and nothing changes;
* an unknown registrant id on ``DELETE`` is 400 code 300 "The value that you entered for the
  Registrant ID field is invalid. …" (the spec's wording);
* a meeting's questions start empty; a ``PATCH`` replaces each list it sends.
"""

from __future__ import annotations

import copy
from typing import Any

from zoom_emulator.models.errors import validation_failed
from zoom_emulator.models.inputs import RegistrantStatusIn, RegistrationQuestionsIn
from zoom_emulator.models.meetings import Meeting, Occurring, Registrant, check_registration_open

STATUSES = ("approved", "denied", "pending")
NEW_STATUS = {"approve": "approved", "deny": "denied", "cancel": "denied"}
LISTED_DETAILS = (
    "first_name",
    "last_name",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "phone",
    "comments",
    "industry",
    "job_title",
    "org",
    "custom_questions",
)
"""The fields a registrant gave that the spec's list item carries."""

BAD_REGISTRANT_ID = (
    "The value that you entered for the Registrant ID field is invalid. "
    "Enter a valid value and try again."
)


def _occurrence_ids(registrant: Registrant) -> set[str]:
    return {o["occurrence_id"] for o in registrant.answer.get("occurrences", [])}


def listed(registrant: Registrant) -> dict[str, Any]:
    """A registrant as ``GET /meetings/{meetingId}/registrants`` lists them."""
    item: dict[str, Any] = {"id": registrant.id, "email": registrant.email}
    item |= {key: registrant.details[key] for key in LISTED_DETAILS if key in registrant.details}
    item |= {
        "status": registrant.status,
        "create_time": registrant.create_time,
        "join_url": registrant.answer["join_url"],
        "participant_pin_code": registrant.answer["participant_pin_code"],
    }
    return item


def registrants_of(
    meeting: Occurring, status: str, occurrence_id: str | None
) -> list[dict[str, Any]]:
    """The meeting's registrants with ``status`` (of one occurrence when given), as listed."""
    check_registration_open(meeting)
    if occurrence_id is not None:
        meeting.occurrence(occurrence_id)
    return [
        listed(r)
        for r in meeting.registrants
        if r.status == status and (occurrence_id is None or occurrence_id in _occurrence_ids(r))
    ]


def _find(meeting: Occurring, *, registrant_id: str | None, email: str | None) -> Registrant | None:
    for registrant in meeting.registrants:
        if registrant_id is not None and registrant.id == registrant_id:
            return registrant
        if email is not None and registrant.email.lower() == email.lower():
            return registrant
    return None


def set_status(meeting: Occurring, body: RegistrantStatusIn) -> None:
    """Approve, deny or cancel the named registrants (by id or email), all or none."""
    check_registration_open(meeting)
    found = []
    for number, ref in enumerate(body.registrants):
        registrant = _find(meeting, registrant_id=ref.id, email=ref.email)
        if registrant is None:
            named = ref.id or ref.email or "(neither id nor email)"
            message = f"Registrant does not exist: {named}."
            raise validation_failed([{"field": f"registrants.{number}", "message": message}])
        found.append(registrant)
    for registrant in found:
        registrant.status = NEW_STATUS[body.action]


def delete(meeting: Occurring, registrant_id: str, occurrence_id: str | None) -> None:
    """Delete a registrant (with ``occurrence_id``: from that occurrence only)."""
    check_registration_open(meeting)
    registrant = _find(meeting, registrant_id=registrant_id, email=None)
    if registrant is None:
        raise validation_failed([{"field": "registrantId", "message": BAD_REGISTRANT_ID}])
    if occurrence_id is not None:
        meeting.occurrence(occurrence_id)
        kept = [
            o
            for o in registrant.answer.get("occurrences", [])
            if o["occurrence_id"] != occurrence_id
        ]
        registrant.answer["occurrences"] = kept
        if kept:
            return
    meeting.registrants.remove(registrant)


def questions(meeting: Meeting) -> dict[str, Any]:
    """The meeting's registration questions (a copy)."""
    check_registration_open(meeting)
    stored = meeting.registration_questions or {"questions": [], "custom_questions": []}
    return copy.deepcopy(stored)


def update_questions(meeting: Meeting, body: RegistrationQuestionsIn) -> None:
    """Replace the question lists the body sends; the others stay."""
    current = questions(meeting)
    if body.questions is not None:
        current["questions"] = [q.model_dump() for q in body.questions]
    if body.custom_questions is not None:
        current["custom_questions"] = [
            q.model_dump(exclude_none=True) for q in body.custom_questions
        ]
    meeting.registration_questions = current
