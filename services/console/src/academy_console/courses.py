"""Courses and lessons (catalog-editor): list, create, edit, lessons add/edit/reorder/delete, the bot's
preview, publish, archive — through the catalog's `/internal/courses` and `/internal/categories`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from academy_runtime.errors import ValidationFailedError
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from academy_console import forms
from academy_console.backends import Operator
from academy_console.preview import course_card
from academy_console.web import FormDep, redirect, render, requires

router = APIRouter(prefix="/courses")
Editor = Annotated[Operator, requires("catalog-editor")]
CourseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
LessonId = Annotated[int, Path(ge=1, le=2**31 - 1)]

CURRENCIES = ("RUB", "USD", "XTR")


async def _categories(operator: Operator) -> list[dict[str, Any]]:
    categories: list[dict[str, Any]] = await operator.call("catalog", "GET", "/internal/categories")
    return categories


async def _course(operator: Operator, course_id: int) -> dict[str, Any]:
    course: dict[str, Any] = await operator.call(
        "catalog", "GET", f"/internal/courses/{course_id}", params={"include_drafts": "true"}
    )
    return course


@router.get("", response_class=HTMLResponse)
async def list_courses(
    request: Request,
    operator: Editor,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    category: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")] = None,
) -> Response:
    params: dict[str, Any] = {"page": page, "page_size": 50}
    if category:
        params["category"] = category
    listing, categories = await asyncio.gather(
        operator.call("catalog", "GET", "/internal/courses", params=params), _categories(operator)
    )
    return render(
        request,
        "courses/list.html",
        listing=listing,
        categories=categories,
        category=category,
        page=page,
    )


@router.get("/open")
async def open_course(_: Editor, course_id: Annotated[int, Query(ge=1, le=2**31 - 1)]) -> Response:
    """The «open by number» form: drafts are not in the published list."""
    return redirect(f"/courses/{course_id}")


@router.get("/new", response_class=HTMLResponse)
async def new_course(request: Request, operator: Editor) -> Response:
    return render(
        request,
        "courses/new.html",
        categories=await _categories(operator),
        currencies=CURRENCIES,
        request_key=forms.request_key(),
    )


def _course_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "description": forms.text(form, "description"),
        "full_description": forms.text(form, "full_description"),
        "category": forms.text(form, "category"),
        "cover_image_url": forms.text(form, "cover_image_url"),
        "currency": forms.text(form, "currency"),
        "price": forms.decimal(form, "price", "Price"),
        "duration_hours": forms.integer(form, "duration_hours", "Duration", high=10_000),
    }
    return fields


@router.post("")
async def create_course(operator: Editor, form: FormDep) -> Response:
    fields = {name: value for name, value in _course_fields(form).items() if value is not None}
    fields["is_top"] = forms.checkbox(form, "is_top")
    fields["lessons"] = [
        {
            "order": 1,
            "title": forms.required(form, "lesson_title", "The first lesson's title"),
            "is_free": forms.checkbox(form, "lesson_is_free"),
            **({"video_url": url} if (url := forms.text(form, "lesson_video_url")) else {}),
        }
    ]
    course = await operator.call(
        "catalog", "POST", "/internal/courses", json=fields, idempotency_key=forms.idempotency_key(form)
    )
    return redirect(f"/courses/{course['id']}", "course-created")


@router.get("/{course_id}", response_class=HTMLResponse)
async def show_course(request: Request, operator: Editor, course_id: CourseId) -> Response:
    course, categories = await asyncio.gather(_course(operator, course_id), _categories(operator))
    titles = {c["slug"]: c for c in categories}
    category = titles.get(course["category"], {})
    return render(
        request,
        "courses/detail.html",
        course=course,
        categories=categories,
        currencies=CURRENCIES,
        preview_ru=course_card(course, str(category.get("title_ru") or course["category"]), "ru"),
        preview_en=course_card(course, str(category.get("title_en") or course["category"]), "en"),
    )


@router.post("/{course_id}")
async def edit_course(operator: Editor, form: FormDep, course_id: CourseId) -> Response:
    fields = _course_fields(form)
    # Required fields left empty stay as they are; optional ones emptied are cleared.
    changes: dict[str, Any] = {
        name: value
        for name, value in fields.items()
        if value is not None or name in {"full_description", "cover_image_url", "duration_hours"}
    }
    changes["is_top"] = forms.checkbox(form, "is_top")
    changes["is_active"] = forms.checkbox(form, "is_active")
    await operator.call("catalog", "PATCH", f"/internal/courses/{course_id}", json=changes)
    return redirect(f"/courses/{course_id}", "course-saved")


@router.post("/{course_id}/publish")
async def publish_course(operator: Editor, _form: FormDep, course_id: CourseId) -> Response:
    await operator.call("catalog", "POST", f"/internal/courses/{course_id}/publish")
    return redirect(f"/courses/{course_id}", "course-published")


@router.post("/{course_id}/archive")
async def archive_course(operator: Editor, _form: FormDep, course_id: CourseId) -> Response:
    await operator.call("catalog", "POST", f"/internal/courses/{course_id}/archive")
    return redirect(f"/courses/{course_id}", "course-archived")


def _lesson_fields(form: dict[str, str]) -> dict[str, Any]:
    return {
        "title": forms.text(form, "title"),
        "description": forms.text(form, "description"),
        "video_url": forms.text(form, "video_url"),
        "video_duration": forms.integer(form, "video_duration", "Video length", high=86_400),
        "pdf_url": forms.text(form, "pdf_url"),
        "is_free": forms.checkbox(form, "is_free"),
    }


@router.post("/{course_id}/lessons")
async def add_lesson(operator: Editor, form: FormDep, course_id: CourseId) -> Response:
    fields = {name: value for name, value in _lesson_fields(form).items() if value is not None}
    fields["title"] = forms.required(form, "title", "The lesson's title")
    await operator.call("catalog", "POST", f"/internal/courses/{course_id}/lessons", json=fields)
    return redirect(f"/courses/{course_id}", "lesson-added")


@router.post("/{course_id}/lessons/{lesson_id}")
async def edit_lesson(operator: Editor, form: FormDep, course_id: CourseId, lesson_id: LessonId) -> Response:
    fields = _lesson_fields(form)
    fields["title"] = forms.required(form, "title", "The lesson's title")
    await operator.call("catalog", "PATCH", f"/internal/courses/{course_id}/lessons/{lesson_id}", json=fields)
    return redirect(f"/courses/{course_id}", "lesson-saved")


@router.post("/{course_id}/lessons/{lesson_id}/delete")
async def delete_lesson(operator: Editor, _form: FormDep, course_id: CourseId, lesson_id: LessonId) -> Response:
    await operator.call("catalog", "DELETE", f"/internal/courses/{course_id}/lessons/{lesson_id}")
    return redirect(f"/courses/{course_id}", "lesson-deleted")


@router.post("/{course_id}/lessons/{lesson_id}/move")
async def move_lesson(operator: Editor, form: FormDep, course_id: CourseId, lesson_id: LessonId) -> Response:
    """One place up or down (`direction`), as the catalog's reorder takes the whole new order."""
    direction = form.get("direction")
    if direction not in {"up", "down"}:
        raise ValidationFailedError("direction is up or down")
    course = await _course(operator, course_id)
    ids = [lesson["id"] for lesson in course["lessons"]]
    if lesson_id not in ids:
        raise ValidationFailedError(f"lesson {lesson_id} is not in course {course_id}")
    at = ids.index(lesson_id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(ids):
        ids[at], ids[to] = ids[to], ids[at]
        await operator.call("catalog", "PUT", f"/internal/courses/{course_id}/lessons/order", json={"lesson_ids": ids})
    return redirect(f"/courses/{course_id}", "lessons-reordered")
