"""Modelling primitives (issue 9): batch stations, paced conveyors, delays, external sources, mix shares.

Exact event logs on deterministic cases, every value computed by hand in the comments; conservation of parts;
which engine carries what.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import twin
from tests.helpers import exits, one_run, segments
from twin.engine.flow import simulate_flow
from twin.engine.flow_class import flow_problem
from twin.engine.model import RunConfig
from twin.sweep import parse_setting, point_scenario

HOUR = 3600.0


def serial(*stations: dict[str, Any], **header: Any) -> twin.Scenario:
    return twin.from_dict({"scenario": {"name": "p", **header}, "lines": [{"name": "L", "stations": list(stations)}]})


def merged(rows: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Consecutive segments of one state joined (a furnace is blocked part after part)."""
    out: list[tuple[str, float, float]] = []
    for state, a, b in rows:
        if out and out[-1][0] == state and out[-1][2] == a:
            out[-1] = (state, out[-1][1], b)
        else:
            out.append((state, a, b))
    return out


def conserved(res: Any) -> bool:
    return bool(np.all(res.line_released == res.line_finished_total + res.line_scrapped + res.line_in_process))


# ----------------------------------------------------------------------------------------------- batch stations
def furnace(**fields: Any) -> dict[str, Any]:
    return {"name": "oven", "kind": "batch", "batch_max": 10, "cycle_s": 3600.0, **fields}


def test_a_furnace_of_10_after_a_10_s_feeder_holds_an_hour_and_makes_10_parts_every_3690_s() -> None:
    sc = serial({"name": "feed", "cycle_s": 10.0}, furnace())
    res = one_run(sc, 4 * HOUR, trace=True)
    # The furnace loads the parts made at 10, 20, ..., 100 s and starts full at 100; all 10 leave at 3700 (it is
    # last). Part 11, made at 110, waits on the feeder (no buffer, the furnace's 10 places taken) until 3700; the
    # feeder makes parts 12..20 by 3790, when the second batch starts: 3790 + 3600 = 7390, then 11080.
    assert exits(res) == [3700.0] * 10 + [7390.0] * 10 + [11080.0] * 10
    assert segments(res, 0)[9:12] == [("working", 90.0, 100.0), ("working", 100.0, 110.0),
                                      ("blocked", 110.0, 3700.0)]
    assert segments(res, 1)[:4] == [("starved", 0.0, 100.0), ("working", 100.0, 3700.0),
                                    ("starved", 3700.0, 3790.0), ("working", 3790.0, 7390.0)]
    # 41 released: 30 out, 10 in the furnace (third batch started at 11080 + 90 = 11170... still loading: the
    # parts made at 11090..11180 are 10, it started at 11170 with parts 31..40) and part 41 on the feeder.
    assert res.line_released[0] == 41 and res.line_in_process[0] == 11 and conserved(res)


def test_a_furnace_throughput_is_exactly_one_batch_per_hold_plus_loading() -> None:
    sc = serial({"name": "feed", "cycle_s": 10.0}, furnace())
    # Batches end at 3700 + 3690 n: in 10 h (36,000 s) n = 0..8, so 9 batches, 90 parts.
    res = twin.run(sc, hours=10, warmup_hours=0, reps=1)
    assert res.lines[0].finished.mean == 90


def test_furnace_parts_leave_one_by_one_and_it_stays_blocked_until_the_last_has_left() -> None:
    sc = serial({"name": "feed", "cycle_s": 10.0}, furnace(), {"name": "pack", "cycle_s": 20.0})
    res = one_run(sc, 8000, trace=True)
    # At 3700 the first part goes straight to pack; the others follow as pack frees (every 20 s): the 10th leaves
    # the furnace at 3700 + 9 x 20 = 3880 and pack at 3900. The furnace is blocked 3700-3880; only then its places
    # are free: part 11 (waiting on the feeder since 110) goes in at 3880, parts 12..20 follow every 10 s, the
    # second batch starts at 3970 and ends at 7570: out of pack at 7590 ... 7770.
    assert exits(res) == [3720.0 + 20 * i for i in range(10)] + [7590.0 + 20 * i for i in range(10)]
    assert merged(segments(res, 1))[:4] == [("starved", 0.0, 100.0), ("working", 100.0, 3700.0),
                                            ("blocked", 3700.0, 3880.0), ("starved", 3880.0, 3970.0)]
    assert conserved(res)


def test_max_wait_starts_a_partial_batch_and_shuts_its_empty_places() -> None:
    sc = serial({"name": "feed", "cycle_s": 100.0}, furnace(cycle_s=1000.0, batch_min=3, max_wait_s=250.0))
    res = one_run(sc, 4000, trace=True)
    # Parts at 100, 200, 300; the wait runs out at 100 + 250 = 350 with 3 >= batch_min: hold 350-1350. Part 4,
    # made at 400, finds the door shut (no buffer) and waits on the feeder until 1350; it is loaded at 1350, parts
    # 5 and 6 at 1450 and 1550, the wait runs out at 1600: hold to 2600; then 2600 + 250 -> 2850 to 3850.
    assert exits(res) == [1350.0] * 3 + [2600.0] * 3 + [3850.0] * 3
    assert ("blocked", 400.0, 1350.0) in segments(res, 0)
    assert conserved(res)


def test_a_wait_that_runs_out_below_batch_min_starts_with_the_batch_min_th_part() -> None:
    sc = serial({"name": "feed", "cycle_s": 300.0}, furnace(cycle_s=1000.0, batch_min=3, max_wait_s=250.0))
    # Parts at 300, 600, 900: at 550 only one is in; it starts the moment the third comes, at 900: out at 1900.
    assert exits(one_run(sc, 2000, trace=True)) == [1900.0] * 3


def test_a_part_arriving_as_the_wait_runs_out_is_loaded() -> None:
    sc = serial({"name": "feed", "cycle_s": 100.0}, furnace(cycle_s=1000.0, max_wait_s=200.0))
    # First part at 100, the wait runs out at 300, when the third part arrives: it goes in, 3 parts out at 1300.
    assert exits(one_run(sc, 1400, trace=True)) == [1300.0] * 3


def test_two_furnaces_load_in_turn_never_both_half_full() -> None:
    sc = serial({"name": "feed", "cycle_s": 10.0}, furnace(servers=2, batch_max=5, cycle_s=100.0))
    # Furnace 1 loads parts 1-5 (10..50 s) and holds 50-150; furnace 2 then loads parts 6-10 (60..100) and holds
    # 100-200. Part 11 (made at 110) waits on the feeder for a place until furnace 1 is empty at 150; with parts
    # 12-15 (160..190) it holds 190-290; furnace 2, empty at 200, loads parts 16-20 (200..240): 240-340.
    assert exits(one_run(sc, 400, trace=True)) == [150.0] * 5 + [200.0] * 5 + [290.0] * 5 + [340.0] * 5


def test_a_batch_station_first_in_its_line_releases_a_full_batch() -> None:
    sc = serial(furnace(cycle_s=100.0), {"name": "pack", "cycle_s": 5.0})
    # 10 parts at 0, out at 100 one a 5 s into pack: 105 ... 150; the next batch starts when the last has left the
    # furnace (145), holds to 245 and its parts leave pack from 250.
    assert exits(one_run(sc, 260, trace=True)) == [105.0 + 5 * i for i in range(10)] + [250.0, 255.0]


# ----------------------------------------------------------------------------------------------- conveyors
def chain_line(sink_s: float, stops: bool = True) -> twin.Scenario:
    chain: dict[str, Any] = {"name": "chain", "kind": "conveyor", "cycle_s": 12.0, "transit_s": 60.0}
    if not stops:
        chain.update(stops_when_blocked=False, hooks=10)
    return serial({"name": "feed", "cycle_s": 10.0}, chain, {"name": "sink", "cycle_s": sink_s})


def test_a_chain_with_a_free_exit_carries_one_part_a_pitch() -> None:
    res = one_run(chain_line(5.0), 400, trace=True)
    # Hooks pass the load point every 12 s. Part 1, made at 10, takes the hook of 12 s (the feeder is blocked
    # 10-12 waiting for it), reaches the exit at 72 and leaves the 5 s sink at 77; the feeder then makes a part
    # every 12 s (10 s of work, 2 s waiting for the hook): out at 77, 89, 101, ...
    assert exits(res)[:5] == [77.0, 89.0, 101.0, 113.0, 125.0]
    assert segments(res, 0)[:3] == [("working", 0.0, 10.0), ("blocked", 10.0, 12.0), ("working", 12.0, 22.0)]
    assert segments(res, 1)[:2] == [("starved", 0.0, 12.0), ("working", 12.0, 400.0)]
    assert conserved(res)


def test_a_stopping_chain_stops_while_its_exit_is_blocked() -> None:
    res = one_run(chain_line(30.0), 600, trace=True)
    # Part 1 exits at 72 into the 30 s sink (out at 102). Part 2 reaches the exit at 84 while the sink is busy:
    # the whole chain stops 84-102. Chain time then runs 12 s behind: part 3 reaches the exit at 96 + 18 = 114,
    # the sink is busy till 132, the chain stops again. From then on the sink paces it: one part every 30 s.
    assert exits(res)[:5] == [102.0, 132.0, 162.0, 192.0, 222.0]
    assert segments(res, 1)[:5] == [("starved", 0.0, 12.0), ("working", 12.0, 84.0), ("blocked", 84.0, 102.0),
                                    ("working", 102.0, 114.0), ("blocked", 114.0, 132.0)]
    assert conserved(res)


def test_a_non_stop_chain_sends_a_part_round_the_loop_and_skips_its_hook() -> None:
    res = one_run(chain_line(30.0, stops=False), 600, trace=True)
    # 10 hooks of 12 s: a round of 120 s. Exits at 72 (part 1 -> sink till 102), 84 and 96 (sink busy: round the loop, back
    # at 204 and 216), 108 (sink free: part 4, out at 138), 120 and 132 (round), 144 (part 7, out at 174), ...
    # the sink takes a part at every third exit: one every 36 s instead of 30 — capacity lost to recirculation.
    assert exits(res)[:6] == [102.0, 138.0, 174.0, 210.0, 246.0, 282.0]
    # Hooks 2 and 3 come back to the load point at 144 and 156 still carrying parts 2 and 3: part 12, made at 142,
    # waits on the feeder for hook 4 at 168.
    assert ("blocked", 142.0, 168.0) in segments(res, 0)
    # the chain never stops
    assert segments(res, 1) == [("starved", 0.0, 12.0), ("working", 12.0, 600.0)]
    assert conserved(res)


def test_a_chain_first_in_its_line_hangs_a_part_on_every_hook() -> None:
    sc = serial({"name": "chain", "kind": "conveyor", "cycle_s": 12.0, "transit_s": 60.0})
    # hooks at 0, 12, 24, ...; each part out 60 s later: 60, 72, 84, ...
    assert exits(one_run(sc, 100, trace=True)) == [60.0, 72.0, 84.0, 96.0]


# ----------------------------------------------------------------------------------------------- delays
def cooling() -> twin.Scenario:
    return serial({"name": "feed", "cycle_s": 10.0}, {"name": "cool", "kind": "delay", "delay_s": 600.0,
                                                      "capacity": 30})


def test_a_delay_is_a_multi_server_deterministic_station() -> None:
    st = cooling().station("L", "cool")
    assert (st.cycle_s, st.servers, st.dist) == (600.0, 30, "det")
    assert cooling().to_dict()["lines"][0]["stations"][1] == {"name": "cool", "kind": "delay", "delay_s": 600.0,
                                                              "capacity": 30}
    # a what-if in the words of any station (tuning, sensitivity) is one in the delay's own words
    changed = cooling().with_station("L", "cool", cycle_s=700.0, servers=20)
    assert changed.station("L", "cool").delay_s == 700.0 and changed.station("L", "cool").servers == 20


def test_a_cooling_zone_of_30_places_and_600_s_passes_30_parts_every_600_s_on_both_engines() -> None:
    res = one_run(cooling(), 2000, trace=True)
    # Parts 1..30 go in at 10..300 and out at 610..900; part 31 (made at 310) waits for a place until 610, part
    # 32 goes in at 620 as part 2 leaves (downstream first), ...: out at 1210..1500, then 1810 ... 1990.
    assert exits(res) == ([610.0 + 10 * i for i in range(30)] + [1210.0 + 10 * i for i in range(30)]
                          + [1810.0 + 10 * i for i in range(19)])
    assert flow_problem(cooling()) is None  # both engines carry it
    # 1 h: blocks of 30 out at 610 + 600 n .. 900 + 600 n, n = 0..4 complete by 3600 -> 150 parts
    for engine in ("des", "flow"):
        assert twin.run(cooling(), hours=1, warmup_hours=0, reps=1, engine=engine).lines[0].finished.mean == 150


# ----------------------------------------------------------------------------------------------- external sources
def supplied(share: float, local_s: float = 30.0, **external: Any) -> twin.Scenario:
    return twin.from_dict({"scenario": {"name": "x", "product": "A"}, "lines": [
        {"name": "E", "stations": [{"name": "e", "cycle_s": local_s}]},
        {"name": "A", "stations": [{"name": "a", "cycle_s": 10.0, "inputs": [
            {"from": "E", "stock": 2, "external": {"share": share, "lead_s": 100.0, "stock": 3, **external}}]}]},
    ]})


def test_an_external_supplier_covers_its_share_of_the_units_spread_evenly() -> None:
    res = one_run(supplied(0.4), 1000, trace=True)
    # share 0.4: unit u is external when floor((u+1) 0.4) > floor(u 0.4): L L E L E | L L E L E ...
    # Local units arrive every 30 s (30, 60, 90, ...) and are assembled in 10 s: 40, 70, 100, 130, 160, 190, ...;
    # each external unit comes from the full external stock right after: 80, 110, 170, 200, ...
    assert exits(res, line=1)[:10] == [40.0, 70.0, 80.0, 100.0, 110.0, 130.0, 160.0, 170.0, 190.0, 200.0]
    # 3 local units per 5: the 32 local units made by 960 (the 33rd's product would leave at 1000, the horizon)
    # are units 0..51, and unit 52 is external (out at 980): 53 products, 1 every 18 s in the long run.
    assert res.line_finished_total[1] == 53
    assert res.starved_by[1]["E (external)"] == 0.0 and conserved(res)


def test_local_share_one_is_the_line_alone_and_zero_the_supplier_alone() -> None:
    # share 0: every unit local, one product per 30 s
    assert exits(one_run(supplied(0.0), 200, trace=True), line=1) == [40.0, 70.0, 100.0, 130.0, 160.0, 190.0]
    res = one_run(supplied(1.0), 400, trace=True)
    # share 1: the 3 external units in stock go at 10, 20, 30; each is re-ordered when taken (0, 10, 20) and
    # arrives 100 s later: products at 110, 120, 130, then 210 ...; the local line fills its stock of 2 and stops.
    assert exits(res, line=1) == [10.0, 20.0, 30.0, 110.0, 120.0, 130.0, 210.0, 220.0, 230.0, 310.0, 320.0, 330.0]
    assert res.line_finished_total[0] == 2


def test_an_unreliable_supplier_ships_nothing_while_down() -> None:
    sc = supplied(1.0, mtbf_s=150.0, mttr_s=100.0, ttf_dist="det", ttr_dist="det")
    # Supplier down [150, 250), [400, 500), ... Re-orders at 0, 10, 20 and 100, 110, 120 ship at once (products
    # at 110-130 and 210-230); those of 200, 210, 220 wait for 250 and arrive at 350 (360-380); those of 350-370
    # ship at once (460-480); those of 450-470 wait for 500 (610-630).
    assert exits(one_run(sc, 700, trace=True), line=1) == [
        10.0, 20.0, 30.0, 110.0, 120.0, 130.0, 210.0, 220.0, 230.0, 360.0, 370.0, 380.0, 460.0, 470.0, 480.0,
        610.0, 620.0, 630.0]


def test_the_local_share_is_a_sweep_parameter() -> None:
    sc = supplied(0.4)
    setting = parse_setting("A.a.E.external.share=0,1", sc)
    assert setting.key == "A.a.E.external.share"
    assert point_scenario(sc, [setting], (1.0,)).spec.lines[1].stations[0].inputs[0].external.share == 1.0
    with pytest.raises(twin.TwinError, match="no input 'F'"):
        parse_setting("A.a.F.external.share=0.5", sc)


# ----------------------------------------------------------------------------------------------- mix shares
def vehicles(dual: float, erev: float = 0.0) -> twin.Scenario:
    return twin.from_dict({"scenario": {"name": "mix", "product": "A"}, "lines": [
        {"name": "E", "stations": [{"name": "e", "cycle_s": 20.0}]},
        {"name": "R", "stations": [{"name": "r", "cycle_s": 5.0}]},
        {"name": "A", "stations": [{"name": "a", "cycle_s": 30.0, "inputs": [
            {"from": "E", "qty": 1, "stock": 4}, {"from": "R", "qty": 1, "stock": 2}]}]},
    ], "mix": {"line": "A", "base": "bev", "variants": [
        {"name": "bev", "bom": {"R": 0}},
        {"name": "dual", "share": dual, "bom": {"E": 2, "R": 0}},
        {"name": "erev", "share": erev},
    ]}})


def test_the_base_variant_takes_the_rest_of_the_shares() -> None:
    spec = vehicles(0.2, 0.3).spec.mix
    assert spec is not None and [v.share for v in spec.variants] == pytest.approx([0.5, 0.2, 0.3])
    assert "share" not in vehicles(0.2, 0.3).to_dict()["mix"]["variants"][0]  # derived, so not written back
    assert flow_problem(vehicles(0.2, 0.3)) is None  # plain shares by then: both engines carry it


def test_dual_motor_share_drives_the_e_drives_per_car() -> None:
    # all single-motor: A (30 s) paces: a car per 30 s, 120 an hour; all dual-motor: 2 e-drives of 20 s a car, a
    # car per 40 s, 90 an hour (a draw per car picks the variant, but shares 0 and 1 leave no choice).
    for dual, per_hour in ((0.0, 120.0), (1.0, 90.0)):
        res = twin.run(vehicles(dual), hours=10, warmup_hours=1, reps=1)
        assert res.throughput.per_hour.mean == pytest.approx(per_hour, abs=1 / 9)
    setting = parse_setting("mix.dual.share=0,1", vehicles(0.0))
    swept = point_scenario(vehicles(0.0), [setting], (1.0,))
    assert [v.share for v in swept.spec.mix.variants] == [0.0, 1.0, 0.0]  # type: ignore[union-attr]
    with pytest.raises(twin.TwinError, match="the mix's base"):
        parse_setting("mix.bev.share=0.5", vehicles(0.0))


def test_shares_over_one_are_refused_naming_the_base() -> None:
    with pytest.raises(twin.ScenarioError) as err:
        vehicles(0.8, 0.3)
    assert ("mix: variants[].share = 1.1: the shares of the variants other than the base 'bev' must add up to <= 1"
            in str(err.value))


# ----------------------------------------------------------------------------------------------- engines
def test_the_flow_engine_refuses_each_new_kind_by_name() -> None:
    assert flow_problem(serial({"name": "feed", "cycle_s": 10.0}, furnace())) == "batch stations (L/oven)"
    assert flow_problem(chain_line(5.0)) == "paced conveyors (L/chain)"
    res = twin.run(serial({"name": "feed", "cycle_s": 10.0}, furnace()), hours=1, warmup_hours=0, reps=1)
    assert res.engine == "des"  # auto takes the SimPy engine
    assert flow_problem(supplied(0.4)) is None  # external sources are in the class (tests/test_flow_supply.py)
    assert twin.run(supplied(0.4), hours=1, warmup_hours=0, reps=1).engine == "flow"


# ----------------------------------------------------------------------------------------------- bad input
BAD = """\
[scenario]
name = "bad primitives"

[[lines]]
name = "L"
[[lines.stations]]
name = "oven"
kind = "batch"
cycle_s = 3600.0
batch_min = 5
[[lines.stations]]
name = "chain"
kind = "conveyor"
cycle_s = 12.0
servers = 2
stops_when_blocked = false
[[lines.stations]]
name = "cool"
kind = "delay"
cycle_s = 600.0
capacity = 0
[[lines.stations]]
name = "press"
cycle_s = 30.0
transit_s = 60.0
inputs = [{from = "F", qty = 2, external = {share = 1.5, lead_s = 100.0, stock = 1, mttr_s = 60.0}}]

[[lines]]
name = "F"
[[lines.stations]]
name = "f"
cycle_s = 10.0

[mix]
line = "L"
base = "bev"
[[mix.variants]]
name = "bev"
share = 0.5
[[mix.variants]]
name = "erev"
share = 0.7
cycle_s = {oven = 100.0}
[[mix.variants]]
name = "dual"
"""


def test_every_problem_of_the_new_kinds_in_one_message_exit_2(tmp_path: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_scenario_errors import assert_problem, assert_rejected, check

    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path)
    oven, chain = "lines[0].stations[0] 'oven'", "lines[0].stations[1] 'chain'"
    cool, press = "lines[0].stations[2] 'cool'", "lines[0].stations[3] 'press'"
    assert_problem(err, oven, "batch_max is missing", "required with kind = 'batch'")
    assert_problem(err, oven, "batch_min = 5", "only used with max_wait_s")
    assert_problem(err, chain, "transit_s is missing", "required with kind = 'conveyor'")
    assert_problem(err, chain, "servers = 2", "not allowed with kind = 'conveyor': a conveyor is one chain")
    assert_problem(err, chain, "hooks is missing", "required with stops_when_blocked = false")
    assert_problem(err, cool, "cycle_s = 600.0", "not allowed with kind = 'delay': a delay's time is delay_s")
    assert_problem(err, cool, "delay_s is missing", "required with kind = 'delay'")
    assert_problem(err, cool, "capacity = 0", "must be >= 1")
    assert_problem(err, press, "transit_s = 60.0", "only used with kind = 'conveyor' (kind is 'machine')")
    # pydantic labels a nested table by its path alone, the cross-field rules with the station's name
    assert_problem(err, "lines[0].stations[3].inputs[0].external", "share = 1.5", "must be <= 1")
    assert_problem(err, f"{press}.inputs[0].external", "stock = 1", "must be >= the input's qty (2)")
    assert_problem(err, f"{press}.inputs[0].external", "mttr_s = 60.0", "given without mtbf_s")
    assert_problem(err, "mix.variants[0] 'bev'", "share = 0.5", "the base variant's share is the rest")
    assert_problem(err, "mix.variants[1] 'erev'", "cycle_s = 'oven'", "names a batch station or conveyor")
    assert_problem(err, "mix.variants[2] 'dual'", "share is missing", "required")


KIT_TOO_BIG = """
[scenario]
name = "kits"
product = "M"
[[lines]]
name = "F"
stations = [{ name = "f0", cycle_s = 10.0 }]
[[lines]]
name = "M"
stations = [{ name = "m0", cycle_s = 20.0, inputs = [{ from = "F", qty = 1, stock = 2 }] }]
[mix]
line = "M"
base = "A"
[[mix.variants]]
name = "A"
[[mix.variants]]
name = "B"
share = 0.5
bom = { F = 3 }
"""


def test_a_variant_needing_more_than_its_input_stock_holds_is_refused(tmp_path: Any,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A kit is taken whole from the line-side stock, so a variant whose bill needs more of an input than the stock
    has places never gathers one: both engines would stop there (the SimPy engine reports a deadlock, the flow
    engine found no progress). Refused when the scenario is read; as many as the stock holds is fine."""
    from tests.test_scenario_errors import assert_problem, assert_rejected, check

    path = tmp_path / "kits.toml"
    path.write_text(KIT_TOO_BIG, encoding="utf-8")
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path)
    assert_problem(err, "mix.variants[1] 'B'", "bom.F = 3", "must be <= the input's stock (2 places)")
    fits = tmp_path / "fits.toml"
    fits.write_text(KIT_TOO_BIG.replace("bom = { F = 3 }", "bom = { F = 2 }"), encoding="utf-8")
    sc = twin.load(str(fits))
    res = simulate_flow(sc, RunConfig(horizon_s=4 * 3600.0, seed=sc.seed))
    assert res.deadlock is None and res.line_finished_total[1] > 0


def test_shares_over_one_with_a_base_exit_2_through_the_cli(tmp_path: Any,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_scenario_errors import assert_problem, assert_rejected, check

    text = BAD.split("[mix]")[0].replace('batch_min = 5', 'batch_max = 5') + """
[mix]
line = "F"
base = "bev"
[[mix.variants]]
name = "bev"
[[mix.variants]]
name = "erev"
share = 0.7
[[mix.variants]]
name = "dual"
share = 0.4
"""
    path = tmp_path / "shares.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = check(capsys, path)
    assert_rejected(code, out, err, path)
    assert_problem(err, "mix", "variants[].share = 1.1",
                   "the shares of the variants other than the base 'bev' must add up to <= 1")
