"""Send each notice through the notifier of its channel."""

from __future__ import annotations

from notifications.port import Notice, Notifier, NotifierInvalidRequestError, SendResult


class ChannelRouter:
    def __init__(self, email: Notifier, sms: Notifier) -> None:
        self._by_channel: dict[str, Notifier] = {"email": email, "sms": sms}

    def send(self, notice: Notice) -> SendResult:
        notifier = self._by_channel.get(notice.channel)
        if notifier is None:
            raise NotifierInvalidRequestError(
                f"no notifier for channel {notice.channel!r} "
                f"(notice {notice.idempotency_key!r}); known: {sorted(self._by_channel)}"
            )
        return notifier.send(notice)
