"""Every code the simulator answers with, and the one exception that carries it.

The messages are the English texts of the public documentation. The HTTP layer renders a
`QuectelError` into the envelope; nothing else in the domain knows about HTTP.
"""

from __future__ import annotations

MESSAGES: dict[int, str] = {
    200: "",
    # Transport-level codes the simulator uses in the envelope for routing errors.
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    # Accounts and tokens.
    5002: "Phone number already registered",
    5004: "Phone number not registered",
    5013: "Incorrect user domain format",
    5015: "User domain does not exist",
    5019: "Phone number format incorrect",
    5021: "Please enter phone number",
    5022: "Please enter password",
    5023: "Please enter user domain",
    5026: "Please enter email",
    5028: "Password incorrect",
    5031: "Email not registered",
    5032: "Token validation failed",  # the live text (the docs say "verification"); clients match on it
    5033: "User does not exist",
    5040: "Incorrect email format",
    5056: "Incorrect password format (6-20 letters, digits or special characters)",
    5065: "Please enter user ID",
    5104: "User domain disabled",
    5106: "Please enter token",
    5147: "Account frozen, try again after 20 minutes",
    5325: "Access temporarily blocked for abnormal network behaviour (lifted after 24 h)",
    5420: "Signature verification failed",
    5550: "Please enter signature",
    5579: "Phone or password incorrect, 1 attempt left",
    5580: "Phone or password incorrect, 2 attempts left",
    5581: "Phone or password incorrect, 3 attempts left",
    5582: "Phone or password incorrect, 4 attempts left",
    5583: "Incorrect email or password, 1 attempt left",
    5584: "Incorrect email or password, 2 attempts left",
    5585: "Incorrect email or password, 3 attempts left",
    5586: "Incorrect email or password, 4 attempts left",
    6084: "MCC does not belong to current data center",
    6085: "Failed to query MCC data center",
    # From the App error-code page; the history pages answer it, with the reason in `extMsg`, for
    # parameters they document no code for.
    5000: "Service exception",
    # Devices and sharing.
    5041: "No permission",
    5047: "User authentication mismatch",
    5049: "Device already bound",
    5050: "Device unbinding failed",
    5052: "Device not bound",
    5066: "Please enter Product Key",
    5067: "Please enter Device Key",
    5068: "Please enter device name",
    5132: "Please enter share QR code seed expiration time",
    5133: "Override flag parameter value out of range",
    5134: "Failed to add device share information",
    5135: "No permission to share this device",
    5136: "Please enter share code",
    5137: "Invalid share code",
    5138: "Device sharing failed",
    5140: "Please enter pk, dk or share code",
    5141: "No permission to query this device",
    5142: "This share has expired",
    5145: "Timestamp format incorrect",
    5151: (
        "With override flag 3, the device usage expiration time of the share code cannot be "
        "less than that of the currently used share code"
    ),
    5153: "Device usage expiration time must be greater than share QR code seed expiration time",
    5333: "Device name exceeds length limit",
    5360: "Cannot share unverified bound device",
    5864: "Family member cannot accept family device share",
    5891: "Please enter recipient's uid, email, or phone",
    6040: "Already accepted device sharing",
    # Thing models, values and control.
    5070: "Please enter type",
    5071: "Type error, types are 1: Passthrough 2: Property 3: Service",
    5072: "Please enter data type",
    5073: (
        "Data type error, data types are 1: Hex 2: Text (when type is passthrough, dataFormat must be specified)"
    ),
    5074: "Please enter device control command",
    5075: "Device control command length cannot exceed 4096",
    5114: "DMP business attribute query failed",
    5193: "TSL query failed",
    5311: "Please enter device list",
    5312: "Total number of devices in list exceeds range",
    5328: "Please enter cache time",
    5329: "Cache time out of range",
    5330: "Whether to enable cache is out of range",
    5331: "Whether to overwrite previously sent identical commands is out of range",
    5340: "Batch control devices failed",
    5361: "Incorrect DK format",
    5471: "Please enter query type for property identifiers",
    5618: "Please enter family ID",
    5913: "No permission to bind",
    # Home mode (family pages; none is in the global table; 5002/5003/5007 of room sorting are
    # in families.MESSAGES, as those numbers mean other things elsewhere).
    5613: "Please enter home name",
    5616: "Home name already exists",
    5619: "Failed to create home",
    5620: "Failed to create room",
    5621: "Failed to modify family",
    5622: "Family deletion failed",
    5623: "Please enter enable/disable",
    5628: "User information not found",
    5629: "Cannot remove, at least one family must be retained",
    5632: "Failed to initialize frequently used device list",
    5633: "Coordinates format error",
    5635: "Home mode not enabled",
    5636: "Please enter family ID",
    5637: "Please enter room ID",
    5638: "Regular member has no permission",
    5640: "Please enter room name",
    5641: "Room name too long, please enter a room name within 30 characters",
    5642: "Room name already exists, please re-enter",
    5645: "Please enter member role",
    5646: "Please enter expiration time",
    5647: "Expiration time cannot be earlier than current time",
    5648: "Please enter member name",
    5649: "Member name too long, please enter a member name within 256 characters",
    5650: "Member name already exists, please re-enter",
    5651: "Please enter invitee information",
    5653: "User has already been invited, please do not invite again",
    5654: "Please enter whether to accept the invitation",
    5655: "Accept invitation information format error",
    5656: "Please enter family member ID",
    5657: "Forbidden to modify your own member permissions",
    5658: "Member permission is invalid",
    5659: "Home name too long, please enter a home name within 256 characters",
    5660: "Home address too long, please enter a home address within 256 characters",
    5661: "Cannot leave a family you created",
    5663: "Source room cannot be the same as target room",
    5671: "User does not have permission for this family",
    5673: "Duplicate room name",
    5676: "Error calling product service",
    5679: "Forbidden to remove yourself from the family",
    6049: "Insufficient permissions, current user is a regular member",
    6052: "Failed to query room information",
    6053: "Insufficient permissions, user being modified is not in this family",
    6054: "Insufficient permissions, user being removed is not in this family",
}

# Codes that are transport errors rather than business errors: they also set the HTTP status.
HTTP_STATUS: dict[int, int] = {400: 400, 404: 404, 405: 405, 413: 413, 500: 500}


def message_for(code: int) -> str:
    """The documented message of `code`, or an empty string for a code the table lacks."""
    return MESSAGES.get(code, "")


class QuectelError(Exception):
    """A business error: the request is answered with this code in the envelope."""

    def __init__(self, code: int, msg: str | None = None, ext_msg: str | None = None) -> None:
        self.code = code
        self.msg = message_for(code) if msg is None else msg
        self.ext_msg = ext_msg  # what exactly was wrong, when the documented message is generic
        super().__init__(f"{code} {self.msg}")

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 200)
