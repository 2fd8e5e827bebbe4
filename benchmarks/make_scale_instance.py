"""Generate the scale instance: five years on a week grid, 25 regions, many candidate locations.

    python benchmarks/make_scale_instance.py [OUT.yaml] [--periods 260] [--regions 25] [--candidates 16]

The numbers follow nl-2022 in shape (four case types, one follow-on, one staff pool, three location
types), turned into weekly values with a seasonal inflow; the sizes are what matter: with the
defaults the model has about 224,000 variables (about 186,000 of them the binary opening and
service decisions of 400 candidate locations) and as many constraints. Deterministic: the same
arguments give the same file.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

import yaml

WEEKS_PER_MONTH = 365.25 / 12 / 7


def _weekly(per_month: float, periods: int, growth: float, phase: float, rng: random.Random) -> list[float]:
    """A weekly series: the monthly level / 4.35 with a yearly season, a trend and some noise."""
    out = []
    for t in range(periods):
        season = 1 + 0.25 * math.sin(2 * math.pi * (t / 52.18 + phase))
        trend = (1 + growth) ** (t / 52.18)
        out.append(round(per_month / WEEKS_PER_MONTH * season * trend * rng.uniform(0.9, 1.1), 1))
    return out


def make(periods: int = 260, regions: int = 25, candidates: int = 16, seed: int = 0) -> dict:
    rng = random.Random(seed)
    names = [f"R{i + 1:02d}" for i in range(regions)]
    population = {r: rng.randint(250_000, 1_400_000) for r in names}
    total_pop = sum(population.values())
    regions_out = {
        r: {
            "population": population[r],
            "crisis_capacity": 150,
            # accelerated placement in the first half year only
            "accelerated_capacity": [round(12 * population[r] / total_pop * regions, 1) if t < 26 else 0 for t in range(periods)],
        }
        for r in names
    }
    case_types = {
        "general": {
            "pool": "asylum", "inflow": _weekly(2600, periods, 0.03, 0.6, rng), "hours_per_case": 30, "grant_share": 0.72,
            "waits_in_coa": True, "deadline_months": 6, "start_stock": 18000, "pre_horizon_inflow": [round(rng.uniform(450, 750)) for _ in range(52)],
            "outsourcing_capacity": 50, "outsourcing_eur_per_case": 3000,
        },
        "dublin": {
            "pool": "asylum", "inflow": _weekly(215, periods, 0.0, 0.6, rng), "hours_per_case": 10, "grant_share": 0.0,
            "waits_in_coa": True, "deadline_months": 6, "start_stock": 2300, "pre_horizon_inflow": [45] * 52,
        },
        "safe": {
            "pool": "asylum", "inflow": _weekly(85, periods, 0.0, 0.6, rng), "hours_per_case": 16, "grant_share": 0.05,
            "waits_in_coa": True, "deadline_months": 6, "start_stock": 800, "pre_horizon_inflow": [20] * 52,
        },
        "family": {
            "pool": "asylum", "inflow": 0, "hours_per_case": 8, "grant_share": 0.55, "waits_in_coa": False, "deadline_months": 3,
            "start_stock": 7000, "pre_horizon_inflow": [200] * 26,
            "follow_on": {"source_types": ["general", "safe"], "share_of_grants": 0.9, "lag_months": 2, "pre_horizon_grants": [250] * 9},
            "penalties": {"applies": True, "notice_share_per_period": 0.025, "eur_per_notice": 1442, "ind_hours_per_notice": 2},
        },
    }
    staff = {
        "asylum": {
            "start_fte": 620, "hours_per_fte_year": 1100, "eur_per_fte_year": 77000, "training_months": 9,
            "attrition_per_month": 0.01, "coaching_hours_per_trainee_year": 200, "max_hires": 6, "eur_per_hire": 5000,
            "external_fte_max": 100, "external_eur_per_fte_year": 99000,
        }
    }
    location_types = {
        "azc": {"eur_per_place_year": 24390, "opening_eur_per_place": 15000, "keep_open_eur_per_place": 1000, "lead_months": 12, "min_open_months": 60},
        "pavilion": {"eur_per_place_year": 24390, "opening_eur_per_place": 30000, "keep_open_eur_per_place": 1000, "lead_months": 6, "min_open_months": 36},
        "emergency": {"eur_per_place_year": 48060, "opening_eur_per_place": 2000, "keep_open_eur_per_place": 2000, "lead_months": 1, "min_open_months": 6},
    }
    locations = {}
    for r in names:
        share = population[r] / total_pop
        locations[f"azc_{r}"] = {"region": r, "type": "azc", "places": round(30000 * share, -1) or 50, "status": "existing"}
        week = rng.randint(8, 104)
        locations[f"nood_{r}"] = {"region": r, "type": "emergency", "places": 500, "status": "existing", "open_until": f"{2024 + week // 52}-W{week % 52 + 1:02d}"}
        for c in range(candidates):
            kind = ("emergency", "pavilion", "azc")[c % 3]
            locations[f"new_{r}_{c:02d}"] = {"region": r, "type": kind, "places": rng.choice([200, 300, 400, 600, 800]), "status": "candidate"}
    return {
        "name": "scale-5y-week",
        "description": f"Generated scale instance ({periods} weeks, {regions} regions, {candidates} candidates per region); benchmarks only.",
        "horizon": {"start": "2024-W01", "periods": periods, "grain": "week"},
        "regions": regions_out,
        "case_types": case_types,
        "staff_pools": staff,
        "location_types": location_types,
        "locations": locations,
        "reception": {
            "occupancy_norm": 0.9, "start_awaiting_departure": 2000, "departure_rate_per_month": 0.2, "rejected_stay_share": 0.5,
            "other_groups": {"amv_and_other": 650}, "crisis_eur_per_person_night": 150,
        },
        "placement": {
            "norm_weeks": 14, "start_waiting": 13000, "pre_horizon_linked": [350] * 20, "housing_supply": 390,
            "accelerated_total": 7500, "accelerated_eur_per_person": 5000, "accelerated_ready_share": 0.5,
        },
    }


def write(path: Path, **kwargs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(make(**kwargs), sort_keys=False, width=200), encoding="utf-8")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default="instances/scale/scale-5y-week.yaml")
    p.add_argument("--periods", type=int, default=260)
    p.add_argument("--regions", type=int, default=25)
    p.add_argument("--candidates", type=int, default=16, help="candidate locations per region")
    args = p.parse_args(argv)
    print(write(Path(args.out), periods=args.periods, regions=args.regions, candidates=args.candidates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
