"""The one way lists are paginated, filtered and sorted.

Every list route takes ``limit``, ``offset`` and ``sort`` (comma-separated fields, ``-`` for
descending, e.g. ``sort=-created_at,name``) plus its own typed filter parameters, and answers a
``Page``: ``{items, total, limit, offset}``. Sorting always ends with the primary key so pages are
stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, inspect
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from hub_api.core.errors import InvalidInputError

ItemT = TypeVar("ItemT")
TableT = TypeVar("TableT", bound=SQLModel)

MAX_PAGE_SIZE = 200


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int


class ListParams(BaseModel):
    limit: int
    offset: int
    sort: str | None


def list_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
    sort: Annotated[
        str | None,
        Query(max_length=200, description="Comma-separated fields; prefix '-' for descending"),
    ] = None,
) -> ListParams:
    return ListParams(limit=limit, offset=offset, sort=sort)


ListParamsDep = Annotated[ListParams, Depends(list_params)]


def _order_by(
    model: type[SQLModel], sort: str | None, sortable: Sequence[str]
) -> list[ColumnElement[Any]]:
    clauses: list[ColumnElement[Any]] = []
    for raw in (sort or "").split(","):
        field = raw.strip()
        if not field:
            continue
        descending = field.startswith("-")
        name = field.lstrip("-+")
        if name not in sortable:
            allowed = ", ".join(sortable)
            raise InvalidInputError(
                f"cannot sort by '{name}'; sortable fields: {allowed}", field="query.sort"
            )
        column = getattr(model, name)
        clauses.append(column.desc() if descending else column.asc())
    clauses.extend(column.asc() for column in inspect(model).primary_key)
    return clauses


def paginate(
    session: Session,
    model: type[TableT],
    params: ListParams,
    *,
    sortable: Sequence[str],
    filters: Mapping[str, Any] | None = None,
    conditions: Sequence[ColumnElement[bool]] = (),
) -> Page[TableT]:
    """Apply equality ``filters`` (``None`` values ignored), extra ``conditions``, sort and page."""
    statement: SelectOfScalar[TableT] = select(model)
    for name, value in (filters or {}).items():
        if value is not None:
            statement = statement.where(getattr(model, name) == value)
    for condition in conditions:
        statement = statement.where(condition)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    statement = (
        statement.order_by(*_order_by(model, params.sort, sortable))
        .offset(params.offset)
        .limit(params.limit)
    )
    items = list(session.exec(statement).all())
    return Page(items=items, total=total, limit=params.limit, offset=params.offset)
