"""The login decision tree of protocol doc 5.2, on the protocol thread.

1. Quick restore: prepare, pt4_auth with the saved ``supertoken``, check_sig, getvfwebqq,
   login2 → ``login(0)``. A failure anywhere falls through to the QR login (the original
   called relogin() here and could recurse without bound, bug 16).
2. QR login: download the code (saved to ``qrcode_path``, ``input_qrcode`` emitted, printed
   in the terminal with ``show_qrcode``), check it every ``qrcode_poll_interval`` seconds:
   66 → ``scaning``, 67 → ``confirming``, 65 → ``qrcode_expire`` and a new code, until
   ``qrcode_count_max`` expiries stop the client with a clear error; 0 → check_sig,
   getvfwebqq, login2 → ``login(1)``.
"""

from __future__ import annotations

import logging
from typing import Optional, Tuple

from ...client.state import ClientState
from ...errors import LoginFailed, LoginStopped, ProtocolError, TransportError
from .. import BackendHost
from .login import QR_CONFIRMING, QR_EXPIRED, QR_OK, QR_WAITING, Credentials, LoginFlow

log = logging.getLogger(__name__)


class LoginMachine:
    """Runs one login at a time for the backend. Call only from the protocol thread."""

    def __init__(self, flow: LoginFlow, host: BackendHost) -> None:
        self._t = flow.t
        self._host = host
        self.flow = flow
        self.psessionid: Optional[str] = None   # the previous session's, sent on relogin (5.8)

    def login(self) -> Tuple[Credentials, int]:
        """Log in; returns ``(credentials, is_scan)``.

        :raises LoginFailed: QR refused, expired too often, or the service unreachable.
        :raises LoginStopped: the client is stopping.
        """
        creds = self._quick_restore()
        if creds is not None:
            return creds, 0
        return self._qr_login(), 1

    def _check_stop(self) -> None:
        if self._host.stopping():
            raise LoginStopped("stopping")

    def _finish(self, check_sig_url: str) -> Credentials:
        flow = self.flow
        flow.check_sig(check_sig_url)
        flow.get_vfwebqq(self.psessionid)
        creds = flow.login2(psessionid=self.psessionid)
        self.psessionid = creds.psessionid
        return creds

    def _quick_restore(self) -> Optional[Credentials]:
        flow = self.flow
        self._check_stop()
        if not flow.prepare():
            return None
        url = flow.check_login()
        if not url:
            return None
        if flow.ptwebqq is None:
            flow.ptwebqq = self._t.cookie("ptwebqq")
        try:
            creds = self._finish(url)
        except (TransportError, ProtocolError) as e:
            self._check_stop()
            log.info("the saved session could not be restored (%s); QR login follows", e)
            return None
        log.info("session restored from saved cookies, no scan needed")
        return creds

    def _new_qrcode(self) -> None:
        self._host.show_qrcode(self.flow.fetch_qrcode())

    def _qr_login(self) -> Credentials:
        host = self._host
        config = host.config
        expired = 0
        try:
            self._check_stop()
            self._new_qrcode()
            while True:
                self._check_stop()
                status = self.flow.check_qrcode()
                if status.code == QR_WAITING:
                    host.set_state(ClientState.SCANING)
                elif status.code == QR_CONFIRMING:
                    host.set_state(ClientState.CONFIRMING)
                elif status.code == QR_EXPIRED:
                    expired += 1
                    host.qrcode_expired(expired)
                    if expired >= config.qrcode_count_max:
                        raise LoginFailed(f"the QR code expired {expired} times without a scan "
                                          f"(qrcode_count_max={config.qrcode_count_max})")
                    log.info("QR code expired (%d/%d), fetching a new one", expired, config.qrcode_count_max)
                    self._new_qrcode()
                    continue
                elif status.code == QR_OK:
                    log.info("QR code scanned and confirmed (%s)", status.text)
                    return self._finish(status.check_sig_url)
                else:
                    raise LoginFailed(f"QR login refused: {status.text or 'no reason'} ({status.code})")
                if host.wait(max(0.0, config.qrcode_poll_interval)):
                    raise LoginStopped("stopping")
        except (TransportError, ProtocolError) as e:
            self._check_stop()
            raise LoginFailed(f"QR login failed: {e}") from e
        finally:
            host.show_qrcode(None)
