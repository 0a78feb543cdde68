"""Known error texts and their fixes, from the troubleshooting guides (dual-write-domain §6.3).

A map's error message is matched by fragment, case-insensitively; the first match wins.
"""

from __future__ import annotations

KNOWN_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "has version mismatch",
        "Upgrade the Dataverse solution the message names to the required version or later.",
    ),
    (
        "Exceeds the maximum partitions allowed",
        "Too many legal entities are linked for initial sync (at most 40): link fewer, or run "
        "the map with Skip initial sync.",
    ),
    (
        "Unable to build dual-write lookup metadata",
        "Run the maps this map depends on first, and Refresh tables for columns that are missing.",
    ),
    (
        "Missing source field",
        "Refresh the entity list in F&O (Data management > Framework parameters > Entity "
        "settings), regenerate the staging mapping, then Refresh tables on the map.",
    ),
    (
        "401 (Unauthorized)",
        "Only the user who set up the link can add table maps: sign in as that user.",
    ),
    (
        "not a member of the organization",
        "Give the dual-write application users and the root business unit's default team a "
        "security role with the privileges in Dataverse.",
    ),
    (
        "AX export encountered an error",
        "(400) start the Data import export framework service in F&O; (403) delete and re-add "
        "the DtAppID client on the F&O Microsoft Entra applications page.",
    ),
    (
        "Invalid URI: The URI is empty",
        "Delete the DualWriteProjectConfiguration rows whose ExternalEnvironmentURL points at "
        "the wrong Dataverse environment, then stop and start the map.",
    ),
    (
        "Message size exceeded",
        "A Dataverse to F&O transaction is limited to 116.85 MB: write fewer rows per transaction.",
    ),
    (
        "MetadataCache",
        "Install the dual-write core solution in the Dataverse environment.",
    ),
    (
        "Couldn't resolve the guid for the field",
        "The lookup's row is missing (often a circular reference): sync the related map first, "
        "or use the documented multi-pass initial sync.",
    ),
)

DEFAULT_FIX = (
    "Read the map's activity log and Initial sync details in the Dual-write workspace, fix the "
    "cause, then run the map again."
)


def fix_for(message: str) -> str:
    """The documented fix of an error message, or the general advice."""
    lowered = message.lower()
    for fragment, fix in KNOWN_ERRORS:
        if fragment.lower() in lowered:
            return fix
    return DEFAULT_FIX
