"""Conversation states (aiogram FSM, kept in Redis): the answers live there until they are sent."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    """/start by someone not registered: consent → full name → phone → city → registered."""

    consent = State()
    full_name = State()
    phone = State()
    city = State()


class ProfileEditing(StatesGroup):
    """A registered learner changing one profile field."""

    full_name = State()
    city = State()


class AvatarUpload(StatesGroup):
    """After «Сменить фото»: the next photo (or image file) becomes the avatar without asking."""

    photo = State()


class TopUp(StatesGroup):
    """A learner typing a top-up amount in roubles (after «Другая сумма»)."""

    amount = State()
