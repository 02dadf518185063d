"""What each Graph API / WhatsApp error code means for us (no frappe import).

One table maps Meta's error codes to: the kind of failure, whether and how to retry, and a sentence
for the person who sent the message. Branch on ``code`` (and ``subcode``), never on the HTTP status
or on Meta's title: Meta says titles will be deprecated, and mirrors disagree on the HTTP statuses.

The sentences are plain English strings; the Frappe side passes them through ``_()``.
Sources: Meta's "WhatsApp error codes", "Calling API error codes and troubleshooting", the Graph API
"error handling" page, and pywa's error table. Codes 138008, 138010 and 138011 have no description
in any source we found, so they fall to the generic calling entry with Meta's own title.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorKind(str, Enum):
    WINDOW_CLOSED = "window_closed"  # 24 h customer service window closed: only a template may be sent
    RATE_LIMITED = "rate_limited"
    UNDELIVERABLE = "undeliverable"
    TEMPLATE_ERROR = "template_error"
    AUTH_EXPIRED = "auth_expired"  # the account's token is broken: an admin must act
    PERMISSION = "permission"  # the token lacks a permission, or the account is restricted
    BAD_REQUEST = "bad_request"
    UNSUPPORTED = "unsupported"
    MEDIA = "media"
    SERVER_ERROR = "server_error"
    NETWORK = "network"  # no answer from Meta at all (timeout, refused, reset)
    CALLING = "calling"
    UNKNOWN = "unknown"


class Retry(str, Enum):
    NO = "no"  # resending the same request cannot succeed; tell the sender
    BACKOFF = "backoff"  # resend after backoff_seconds, growing on each further failure
    SLOWER = "slower"  # per-recipient (pair) limit: resend to this recipient later, and pace it slower


@dataclass(frozen=True)
class ErrorInfo:
    code: int | None
    kind: ErrorKind
    retry: Retry
    backoff_seconds: float | None  # base delay before the first retry; None when retry is NO
    message: str  # for the sender, in English (translated by the caller)
    title: str = ""  # Meta's title of the code, for logs

    @property
    def retryable(self) -> bool:
        return self.retry is not Retry.NO


def _no(code: int, kind: ErrorKind, title: str, message: str) -> ErrorInfo:
    return ErrorInfo(code, kind, Retry.NO, None, message, title)


def _backoff(code: int, kind: ErrorKind, seconds: float, title: str, message: str) -> ErrorInfo:
    return ErrorInfo(code, kind, Retry.BACKOFF, seconds, message, title)


_K = ErrorKind
_CHECK_SETTINGS = "Check the WhatsApp account settings."

# (code, subcode): subcode None is the entry for every subcode without its own row.
_TABLE: dict[tuple[int, int | None], ErrorInfo] = {
    (info.code, subcode): info
    for subcode, info in [
        # -- authorization ------------------------------------------------------------------------
        (None, _no(190, _K.AUTH_EXPIRED, "Access token has expired",
                   "The WhatsApp access token has expired or is no longer valid. An administrator must "
                   "enter a new token in the WhatsApp account settings.")),
        (None, _no(0, _K.AUTH_EXPIRED, "AuthException",
                   "WhatsApp could not authenticate this app with the access token. An administrator must "
                   "enter a new token in the WhatsApp account settings.")),
        (None, _no(2500, _K.AUTH_EXPIRED, "No active access token",
                   "No WhatsApp access token was sent. An administrator must enter the token in the "
                   "WhatsApp account settings.")),
        (None, _no(3, _K.PERMISSION, "API method",
                   "The WhatsApp app lacks the capability or permission for this action. " + _CHECK_SETTINGS)),
        (None, _no(10, _K.PERMISSION, "Permission denied",
                   "The WhatsApp access token lacks a permission this action needs, or it was removed. "
                   + _CHECK_SETTINGS)),
        (None, _no(200, _K.PERMISSION, "API permission",
                   "The WhatsApp access token lacks a permission this action needs, or it was removed. "
                   + _CHECK_SETTINGS)),
        # -- throttling ---------------------------------------------------------------------------
        (None, _backoff(4, _K.RATE_LIMITED, 60, "Too many API calls",
                        "This app made too many requests to WhatsApp. Sending resumes automatically after a "
                        "pause.")),
        (None, _backoff(80007, _K.RATE_LIMITED, 60, "Rate limit issues",
                        "This WhatsApp Business Account reached its request limit. Sending resumes "
                        "automatically after a pause.")),
        (None, _backoff(130429, _K.RATE_LIMITED, 5, "Rate limit hit",
                        "WhatsApp's sending rate limit for this business number was reached. The message "
                        "will be sent again automatically in a moment.")),
        (None, ErrorInfo(131056, _K.RATE_LIMITED, Retry.SLOWER, 6,
                         "Too many messages were sent to this customer in a short time. The message will be "
                         "sent again automatically, more slowly.",
                         "(Business Account, Consumer Account) pair rate limit hit")),
        (None, _no(131048, _K.UNDELIVERABLE, "Spam rate limit hit",
                   "WhatsApp is limiting what this business number may send because earlier messages were "
                   "blocked or reported as spam. The message was not sent.")),
        (None, _no(131064, _K.RATE_LIMITED, "Messaging limit reached",
                   "This account reached its WhatsApp messaging limit. The message was not sent.")),
        # -- delivery -----------------------------------------------------------------------------
        (None, _no(131047, _K.WINDOW_CLOSED, "Re-engagement message",
                   "More than 24 hours have passed since the customer last wrote, so WhatsApp only allows "
                   "an approved template now. Choose a template to reopen the conversation.")),
        (None, _no(131026, _K.UNDELIVERABLE, "Message undeliverable",
                   "WhatsApp could not deliver this message. The number may not be on WhatsApp, or the "
                   "customer has not accepted WhatsApp's latest terms or uses an old app version.")),
        (None, _no(131049, _K.UNDELIVERABLE, "Meta chose not to deliver",
                   "WhatsApp chose not to deliver this message to keep the customer's experience healthy "
                   "(usually after many marketing messages). Do not resend it right away.")),
        (None, _no(131050, _K.UNDELIVERABLE, "User stopped marketing messages",
                   "The customer has asked not to receive marketing messages from this business.")),
        (None, _no(130472, _K.UNDELIVERABLE, "User's number is part of an experiment",
                   "WhatsApp did not deliver this marketing message because the customer's number is part "
                   "of a Meta experiment.")),
        (None, _no(131021, _K.BAD_REQUEST, "Recipient cannot be sender",
                   "A business number cannot send a message to itself.")),
        (None, _no(131030, _K.UNDELIVERABLE, "Recipient not in allowed list",
                   "This test number may only message numbers on its allowed list. Add the customer's "
                   "number to the list in Meta's app dashboard.")),
        (None, _no(131031, _K.PERMISSION, "Account has been locked",
                   "WhatsApp has locked this business account. Check the account in WhatsApp Manager.")),
        (None, _no(368, _K.PERMISSION, "Temporarily blocked for policy violations",
                   "WhatsApp has temporarily blocked this business account for policy violations.")),
        (None, _no(131042, _K.PERMISSION, "Business eligibility payment issue",
                   "WhatsApp refused the message because of a problem with the account's payment method.")),
        (None, _no(131051, _K.UNSUPPORTED, "Unsupported message type",
                   "This message type is not supported by WhatsApp.")),
        # -- request ------------------------------------------------------------------------------
        (33, _no(100, _K.BAD_REQUEST, "Object does not exist",
                 "WhatsApp does not know this ID (phone number, account, media, template or call), or the "
                 "access token may not use it. " + _CHECK_SETTINGS)),
        (None, _no(100, _K.BAD_REQUEST, "Invalid parameter",
                   "WhatsApp refused the request because a parameter is missing or invalid.")),
        (None, _no(131008, _K.BAD_REQUEST, "Required parameter is missing",
                   "WhatsApp refused the message because a required part of it is missing.")),
        (None, _no(131009, _K.BAD_REQUEST, "Parameter value is not valid",
                   "WhatsApp refused the message because one of its values is not valid.")),
        (None, _no(131052, _K.MEDIA, "Media download error",
                   "WhatsApp could not download the customer's file (it may be larger than 100 MB).")),
        (None, _no(131053, _K.MEDIA, "Media upload error",
                   "WhatsApp could not use the file: its type is not supported or does not match its "
                   "content, or it is too large.")),
        # -- templates ----------------------------------------------------------------------------
        (None, _no(132000, _K.TEMPLATE_ERROR, "Template param count mismatch",
                   "The number of values given for the template's placeholders does not match the approved "
                   "template.")),
        (None, _no(132001, _K.TEMPLATE_ERROR, "Template does not exist",
                   "This template does not exist in the chosen language, or it is not approved yet.")),
        (None, _no(132005, _K.TEMPLATE_ERROR, "Template hydrated text too long",
                   "The template's text is too long once its placeholders are filled in.")),
        (None, _no(132007, _K.TEMPLATE_ERROR, "Template format character policy violated",
                   "A value given for the template breaks WhatsApp's formatting rules.")),
        (None, _no(132012, _K.TEMPLATE_ERROR, "Template parameter format mismatch",
                   "A value given for the template has the wrong format (for example text where the "
                   "template expects an image).")),
        (None, _no(132015, _K.TEMPLATE_ERROR, "Template is paused",
                   "WhatsApp has paused this template because of its low quality. Choose another template.")),
        (None, _no(132016, _K.TEMPLATE_ERROR, "Template is disabled",
                   "WhatsApp has disabled this template. Choose another template.")),
        # -- Meta's side --------------------------------------------------------------------------
        (None, _backoff(1, _K.SERVER_ERROR, 5, "API unknown",
                        "WhatsApp had a temporary problem. The request will be tried again automatically.")),
        (None, _backoff(2, _K.SERVER_ERROR, 5, "API service",
                        "WhatsApp had a temporary problem. The request will be tried again automatically.")),
        (None, _backoff(131000, _K.SERVER_ERROR, 5, "Something went wrong",
                        "Something went wrong at WhatsApp. The request will be tried again automatically.")),
        (None, _backoff(131016, _K.SERVER_ERROR, 10, "Service unavailable",
                        "WhatsApp is temporarily unavailable. The request will be tried again automatically.")),
        (None, _backoff(131057, _K.SERVER_ERROR, 60, "Account in maintenance mode",
                        "This business number is in maintenance at WhatsApp (for example a throughput "
                        "upgrade). The request will be tried again automatically.")),
        # -- calling ------------------------------------------------------------------------------
        (None, _no(138000, _K.CALLING, "Calling not enabled",
                   "Calling is not enabled on this WhatsApp business number. Enable it in the number's "
                   "call settings.")),
        (None, _no(138001, _K.CALLING, "Receiver uncallable",
                   "This customer cannot receive WhatsApp calls (the number is not on WhatsApp, the app is "
                   "not supported, or WhatsApp's terms were not accepted).")),
        (None, _backoff(138002, _K.CALLING, 30, "Concurrent calls limit",
                        "This business number has reached its limit of simultaneous calls. Try again when a "
                        "call ends.")),
        (None, _no(138003, _K.CALLING, "Duplicate call",
                   "A call with this customer is already in progress.")),
        (None, _backoff(138004, _K.CALLING, 5, "Connection error",
                        "The call could not be connected because of a connection error.")),
        (None, _backoff(138005, _K.CALLING, 60, "Call rate limit exceeded",
                        "This business number has started too many calls. Try again later.")),
        (None, _no(138006, _K.CALLING, "No approved call permission",
                   "The customer has not given permission to be called. Send a call permission request "
                   "first.")),
        (None, _no(138007, _K.CALLING, "Call connection timeout",
                   "The call could not connect in time: our side did not apply the call setup (SDP) "
                   "quickly enough.")),
        (None, _no(138009, _K.CALLING, "Call permission request limit hit",
                   "The limit of call permission requests to this customer was reached. Ask again after "
                   "the time WhatsApp reports.")),
        (None, _no(138012, _K.CALLING, "Business initiated calls limit hit",
                   "The limit of calls this business may start to this customer was reached for now. "
                   "WhatsApp reports when the next call is allowed.")),
        (None, _backoff(138013, _K.CALLING, 1, "Fetch call permission limit hit",
                        "Too many call permission look-ups were made; they resume automatically.")),
        (None, _backoff(613, _K.CALLING, 1, "Fetch call permission limit hit",
                        "Too many call permission look-ups were made; they resume automatically.")),
        (None, _no(138018, _K.CALLING, "Calling cannot be enabled",
                   "Calling cannot be enabled on this number yet: WhatsApp's prerequisites are not met.")),
        (None, _no(138021, _K.CALLING, "No media received",
                   "WhatsApp ended the call because it received no audio from our side for too long.")),
    ]
}


def describe(code: int | None, subcode: int | None = None, title: str | None = None,
             http_status: int | None = None, is_transient: bool | None = None) -> ErrorInfo:
    """What a Graph error code means for us. Unknown codes get an honest generic entry naming the
    code and Meta's title; whether they are retried follows the HTTP status and Meta's is_transient."""
    if code is not None:
        info = _TABLE.get((code, subcode)) or _TABLE.get((code, None))
        if info is None and 200 <= code <= 299:
            info = _TABLE[(200, None)]
        if info is not None:
            return info
    shown_title = (title or "").strip() or "no description"
    transient = bool(is_transient) or (http_status is not None and (http_status >= 500 or http_status == 429))
    if code is not None and 138000 <= code <= 138999:
        return ErrorInfo(code, ErrorKind.CALLING, Retry.BACKOFF if transient else Retry.NO,
                         5 if transient else None,
                         f"The WhatsApp call failed (WhatsApp error {code}: {shown_title}).", shown_title)
    if code is None:
        return ErrorInfo(None, ErrorKind.SERVER_ERROR if transient else ErrorKind.UNKNOWN,
                         Retry.BACKOFF if transient else Retry.NO, 5 if transient else None,
                         f"WhatsApp answered with an error (HTTP {http_status or '?'}: {shown_title}).",
                         shown_title)
    if transient:
        return ErrorInfo(code, ErrorKind.SERVER_ERROR, Retry.BACKOFF, 5,
                         f"WhatsApp had a temporary problem (error {code}: {shown_title}). The request will "
                         "be tried again automatically.", shown_title)
    return ErrorInfo(code, ErrorKind.UNKNOWN, Retry.NO, None,
                     f"WhatsApp refused the request (error {code}: {shown_title}).", shown_title)


def describe_transport(*, timeout: bool, maybe_delivered: bool) -> ErrorInfo:
    """No answer from Meta at all: the request may be resent (with the queue's own dedupe in mind)."""
    if timeout:
        message = "WhatsApp did not answer in time."
    else:
        message = "Could not reach WhatsApp (the connection was refused or broke)."
    if maybe_delivered:
        message += " The request may or may not have reached WhatsApp; it will be tried again automatically."
    else:
        message += " The request will be tried again automatically."
    return ErrorInfo(None, ErrorKind.NETWORK, Retry.BACKOFF, 5, message, "timeout" if timeout else "connection")


KNOWN_CODES: frozenset[int] = frozenset(code for code, _ in _TABLE)
