"""The display name: what other learners and services may show of a learner's name, «Анна П.».

The users service derives it from the full name and publishes only it (`users.user_registered.v3`,
`users.profile_updated.v3`, contracts' `DisplayName`); the full name never leaves the service (issue 10:
leaderboards show display names; 152-ФЗ art. 5 §7, no more data than the purpose needs).
"""

from __future__ import annotations

import unicodedata

from academy_contracts.users import DISPLAY_NAME_MAX_LENGTH

__all__ = ["DISPLAY_NAME_MAX_LENGTH", "FIRST_NAME_MAX_LENGTH", "display_name"]

# A first name longer than this is cut (with "…"), so the display name stays within the contract's limit and
# a leaderboard line stays readable.
FIRST_NAME_MAX_LENGTH = DISPLAY_NAME_MAX_LENGTH - 4


def display_name(full_name: str | None) -> str | None:
    """The first word of `full_name` and the initial of its last word with a dot: «Анна Петрова» →
    «Анна П.», «Anna-Maria de la Cruz» → «Anna-Maria C.»; a single word stays as is («Анна»).

    The words are taken as written (the bot asks for «имя и фамилия»); a middle name or patronymic is
    dropped, a hyphenated last name gives the initial of its first part («Серов-Лесной» → «С.»). The
    text is NFC-normalised and freed of control and format characters (zero-width joiners, bidi
    overrides: they could make one name look like another); the initial is a whole character with its
    combining marks, upper-cased when that keeps it one character. None when nothing is left, so the
    caller decides what to show for a learner without a name. At most `DISPLAY_NAME_MAX_LENGTH`
    characters.
    """
    if full_name is None:
        return None
    cleaned = "".join(
        " " if char.isspace() else char
        for char in unicodedata.normalize("NFC", full_name)
        if char.isspace() or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    words = [word.strip("-.,") for word in cleaned.split()]
    words = [word for word in words if word]
    if not words:
        return None
    first = _shorten(words[0], FIRST_NAME_MAX_LENGTH)
    if len(words) == 1:
        return first
    initial = _initial(words[-1])
    return f"{first} {initial}." if initial else first


def _initial(word: str) -> str:
    """The first letter (or digit) of `word` with the combining marks that follow it."""
    for index, char in enumerate(word):
        if char.isalnum():
            marks = ""
            for mark in word[index + 1 :]:
                if not unicodedata.combining(mark):
                    break
                marks += mark
            upper = char.upper()
            return (upper if len(upper) == 1 else char) + marks
    return ""


def _shorten(word: str, limit: int) -> str:
    return word if len(word) <= limit else word[: limit - 1] + "…"
