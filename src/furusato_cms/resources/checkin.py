"""The check-in pages (/checkin/{code}, 出席受付) have no resource of their own: their
views are the root's. What traversal does for them is ask that the code's scan be read
in the statement that loads the signed-in identity (``security.read_with_identity``), so
a tap at a festival costs one round trip fewer."""
from ..security import read_with_identity
from ..services.attendance import AttendanceService
from ..services.checkin_tokens import TokenRefused

PREFIX = "/checkin/"


def read_scan_with_identity(request):
    """For ``/checkin/{code}`` whose code is genuine (an altered one reads nothing)."""
    path = request.path_info
    token = path[len(PREFIX):] if path.startswith(PREFIX) else ""
    if not token or "/" in token:
        return
    service = request.service(AttendanceService)
    try:
        session_id = service.tokens.read(token)[0]
    except TokenRefused:
        return
    read_with_identity(request, lambda account: [service.scan_read(session_id, account)])
