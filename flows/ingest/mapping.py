"""Column mappings: how one export format's columns become a kind's fields.

A mapping file (`mappings/*.yml`):

    kind: feedback                # which raw source the rows feed
    format: csv                   # csv only for now
    encoding: utf-8               # utf-8 (a BOM is detected by itself) or latin-1
    delimiter: ","
    columns:                      # field: header in the export
      response_id: "Ticket ID"
      score: "Satisfaction"
    constants:                    # field: value for every row
      feedback_kind: csat
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plaudit.errors import IngestError


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str | None = None
    format: Literal["csv"] = "csv"
    encoding: Literal["utf-8", "latin-1"] = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)


def load(path: str | Path) -> Mapping:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        return Mapping.model_validate(data or {})
    except FileNotFoundError as exc:
        raise IngestError(f"mapping {p} not found") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise IngestError(f"mapping {p} is not valid: {exc}") from exc
