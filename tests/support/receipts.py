"""Receipt pages in tests."""


def same_receipt(first: str, second: str) -> bool:
    """The same comment's receipt page: the signed link's payload (the tracking number) is the
    same; its timestamp differs when the two requests fall in different seconds."""
    return first.split(":", 1)[0] == second.split(":", 1)[0] and ":" in first
