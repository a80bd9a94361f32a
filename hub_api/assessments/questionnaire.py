"""The maturity questionnaire and its scoring.

18 questions, three for each dimension of the EU Digital Maturity Assessment (European Digital
Innovation Hubs' DMA): business strategy, digital readiness, human-centric digitalisation, data
management, automation & AI, green digitalisation. Each answer is 0 (not at all) to 5 (fully,
measured and improved). A dimension scores ``sum / 15 * 100`` (0-100); the overall score is the
mean of the six.

The smart-factory level (1 basic - 5 advanced, after Korea's 스마트공장 수준확인 levels) is
derived from the shop-floor dimensions only (digital readiness, data, automation & AI):
``1 + floor(mean / 20)``, capped at 5, so 0-19 → 1, 20-39 → 2, …, 80-100 → 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_ANSWER = 5


class Dimension(StrEnum):
    strategy = "digital_business_strategy"
    readiness = "digital_readiness"
    human_centric = "human_centric_digitalisation"
    data = "data_management"
    automation_ai = "automation_and_ai"
    green = "green_digitalisation"


@dataclass(frozen=True)
class Question:
    id: str
    dimension: Dimension
    text: str


D = Dimension
QUESTIONS: tuple[Question, ...] = (
    Question("s1", D.strategy, "Digitalisation goals are part of the business plan"),
    Question("s2", D.strategy, "A budget and an owner exist for digital projects"),
    Question("s3", D.strategy, "Customers and suppliers are connected digitally"),
    Question(
        "r1", D.readiness, "Production orders and schedules are managed in software (MES/ERP)"
    ),
    Question("r2", D.readiness, "Machines report their status automatically"),
    Question("r3", D.readiness, "Quality inspection results are recorded digitally"),
    Question("h1", D.human_centric, "Staff are trained in the digital tools they use"),
    Question("h2", D.human_centric, "Staff take part in choosing and designing digital tools"),
    Question("h3", D.human_centric, "Someone in-house can maintain data and AI systems"),
    Question("d1", D.data, "Process and quality data are stored centrally"),
    Question("d2", D.data, "Data are labelled, linked to products/lots and kept for analysis"),
    Question("d3", D.data, "Access to data is controlled and backed up"),
    Question("a1", D.automation_ai, "Repetitive tasks are automated (robots, PLC logic, RPA)"),
    Question("a2", D.automation_ai, "Analytics or AI models support decisions in production"),
    Question("a3", D.automation_ai, "AI models are monitored and retrained in operation"),
    Question("g1", D.green, "Energy use is measured per line or machine"),
    Question("g2", D.green, "Digital tools are used to reduce scrap, energy or materials"),
    Question("g3", D.green, "Environmental impact is considered when buying IT and machines"),
)
QUESTION_IDS = frozenset(q.id for q in QUESTIONS)
SHOP_FLOOR = (D.readiness, D.data, D.automation_ai)


@dataclass(frozen=True)
class Score:
    dimensions: dict[str, float]
    overall: float
    smart_factory_level: int


def check_answers(answers: dict[str, int]) -> None:
    """Raise ``ValueError`` naming missing, unknown or out-of-range answers."""
    missing = sorted(QUESTION_IDS - answers.keys())
    unknown = sorted(answers.keys() - QUESTION_IDS)
    if missing:
        raise ValueError(f"unanswered questions: {', '.join(missing)}")
    if unknown:
        raise ValueError(f"unknown questions: {', '.join(unknown)}")
    bad = sorted(k for k, v in answers.items() if not 0 <= v <= MAX_ANSWER)
    if bad:
        raise ValueError(f"answers must be 0 to {MAX_ANSWER}: {', '.join(bad)}")


def score(answers: dict[str, int]) -> Score:
    check_answers(answers)
    per_dimension: dict[str, float] = {}
    for dimension in Dimension:
        questions = [q for q in QUESTIONS if q.dimension == dimension]
        total = sum(answers[q.id] for q in questions)
        per_dimension[dimension.value] = round(total / (MAX_ANSWER * len(questions)) * 100, 2)
    overall = round(sum(per_dimension.values()) / len(per_dimension), 2)
    shop_floor = sum(per_dimension[d.value] for d in SHOP_FLOOR) / len(SHOP_FLOOR)
    level = min(5, 1 + int(shop_floor // 20))
    return Score(dimensions=per_dimension, overall=overall, smart_factory_level=level)
