"""Review: coordinators (every post) and chiefs (their own) read the log, export it, and receive digests.

Commands: /log [post] (a page of entries with filters), /digest (this week's figures and chart).
Buttons (rv:): nx/pv/at <view> <entry> <page> (paging), op <view> <entry> <first> <page> (open an entry),
f <view> post|period|kind|service (a filter's choices), p/w/k/s <view> <value> (choose), x <view> csv|xlsx.
Conversation: review_dates (typed first and last day).
Scheduled kind: review_digest (rv:digest:<weekly|daily>:<zone>).
Command line: liaison export (see bot/cli.py), liaison audit verify.
"""

from __future__ import annotations

from bot.access import Action
from bot.features import Command, Feature
from bot.i18n import N_
from handlers.review import cli, digesting, logview
from handlers.review.render import PREFIX

NOT_ALLOWED = N_("Only post chiefs and coordinators can read the log.")
NO_DIGEST = N_("Only post chiefs and coordinators can see the digest.")

FEATURE = Feature(
    name="review",
    commands=(
        Command(
            "log",
            N_("Read the log of a post"),
            logview.log_command,
            action=Action.REVIEW_POST,
            refusal=NOT_ALLOWED,
        ),
        Command(
            "digest",
            N_("This week's figures"),
            digesting.digest_command,
            action=Action.REVIEW_POST,
            refusal=NO_DIGEST,
            openable=True,
        ),
    ),
    callback_prefix=PREFIX,
    on_button=logview.on_button,
    conversations=(logview.DATES,),
    runners={digesting.KIND: digesting.run_digest},
    job_labels={digesting.KIND: N_("the weekly digest")},
    on_start=digesting.on_start,
    cli={"export": cli.run_export},
    labels={"digest": N_("Digest")},
)
