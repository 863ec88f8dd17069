import json
import urllib.error
import urllib.request

from voxbridge_dispatch import DispatchClient, pick_fleet_server


def place_outbound_call(number: str, client: DispatchClient) -> str:
    """Places one outbound call; returns the fleet server that took it. The dial picks a
    server, and after busy() or failed() releases it with that reason and picks again without
    the servers already tried (3 at most: then RetriesExhausted)."""
    with client.dial() as dialout:
        for server in dialout:
            request = urllib.request.Request(
                server + "/livekit/dialout", data=json.dumps({"to": number}).encode(),
                headers={"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=5):
                    dialout.placed()
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    dialout.busy()      # every worker busy
                elif error.code >= 500:
                    dialout.failed()
                else:
                    raise               # released not_placed, and raised on
            except OSError:
                dialout.failed()        # unreachable: another server may take it
    return dialout.server


def old_style() -> str:
    """The seed's function call, unchanged for its callers: the dispatcher comes from
    VOXBRIDGE_DISPATCH_URLS and VOXBRIDGE_PICK_TOKEN; raises NoCapacity with the reasons."""
    server = pick_fleet_server()
    return server
