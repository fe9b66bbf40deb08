"""Realistic Spanish demo data for trying the system: people, companies and their applicants."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User, create_user

DEMO_PASSWORD = "demo-ceia-2026"

DEMO_PEOPLE: list[tuple[str, str, Role]] = [
    ("admin@ceia.gob.mx", "Administración del sistema", Role.admin),
    ("secretaria@ceia.gob.mx", "Mariana López Ortega", Role.secretariat),
    ("presidencia@ceia.gob.mx", "Dra. Elena Ramírez Cruz", Role.council_member),
    ("jgarcia@ceia.gob.mx", "Mtro. Jorge García Salinas", Role.council_member),
    ("lhernandez@ceia.gob.mx", "Dra. Lucía Hernández Vega", Role.council_member),
    ("rmartinez@ceia.gob.mx", "Dr. Ricardo Martínez Soto", Role.council_member),
    ("amendoza@ceia.gob.mx", "Lic. Ana Mendoza Ríos", Role.council_member),
    ("experta.salud@unam.example.mx", "Dra. Sofía Castillo Núñez", Role.expert),
    ("experto.finanzas@itam.example.mx", "Dr. Tomás Aguilar Reyes", Role.expert),
    ("cumplimiento@datasalud.example.mx", "Paola Jiménez Torres (DataSalud)", Role.applicant),
    ("legal@finintel.example.mx", "Andrés Morales Luna (FinIntel)", Role.applicant),
]


def seed_demo(session: Session, *, now: dt.datetime) -> list[tuple[str, str]]:
    """Seed an empty database; returns the demo sign-ins, or nothing when data already exists."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return []
    accounts = []
    for email, name, role in DEMO_PEOPLE:
        create_user(
            session,
            email=email,
            full_name=name,
            role=role,
            password=DEMO_PASSWORD,
            actor=None,
            now=now,
        )
        accounts.append((email, role.value))
    return accounts
