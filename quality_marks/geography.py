"""Mexico's 32 federal entities, where products are deployed and organisations are based."""

from __future__ import annotations

MEXICAN_STATES: tuple[str, ...] = (
    "Aguascalientes", "Baja California", "Baja California Sur", "Campeche", "Chiapas",
    "Chihuahua", "Ciudad de México", "Coahuila", "Colima", "Durango", "Estado de México",
    "Guanajuato", "Guerrero", "Hidalgo", "Jalisco", "Michoacán", "Morelos", "Nayarit",
    "Nuevo León", "Oaxaca", "Puebla", "Querétaro", "Quintana Roo", "San Luis Potosí", "Sinaloa",
    "Sonora", "Tabasco", "Tamaulipas", "Tlaxcala", "Veracruz", "Yucatán", "Zacatecas",
)  # fmt: skip

SECTORS: tuple[str, ...] = (
    "salud", "finanzas", "seguros", "educación", "empleo", "gobierno", "justicia", "comercio",
    "telecomunicaciones", "transporte", "energía", "agricultura", "medios", "otro",
)  # fmt: skip
