"""The simulator's building blocks: ids, calendar, exchange rules, pump path, presets, stream."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest

from kabuguard.labels import Campaign
from kabuguard.simulate import render
from kabuguard.simulate.clock import DAY, HOUR, MINUTE, Calendar, Market, Timestamps
from kabuguard.simulate.ids import Space, mix, mix_array
from kabuguard.simulate.instruments import Tier, round_prices, tse_limits, universe
from kabuguard.simulate.market import PumpPath
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.stream import EventStream, StreamOrderError


def test_ids_are_a_bijection_and_the_vector_form_agrees() -> None:
    counters = np.arange(100_000, dtype=np.int64)
    keys = mix_array(Space.ORDER, counters)
    assert len(set(keys.tolist())) == len(counters)
    assert int(keys[12_345]) == mix(Space.ORDER, 12_345)
    assert mix(Space.ORDER, 1) != mix(Space.ATTACK_ORDER, 1)


def test_us_sessions_follow_daylight_saving_in_japan_time() -> None:
    march = Calendar(date(2025, 3, 3), 14)  # US clocks change on 9 March 2025
    opens, _ = march.sessions(Market.NASDAQ)
    hours = {(int(t) // DAY, int(t) % DAY // MINUTE) for t in opens if 0 <= t < 14 * DAY}
    assert (0, 23 * 60 + 30) in hours  # Monday 3 March, standard time
    assert (7, 22 * 60 + 30) in hours  # Monday 10 March, daylight time


def test_tse_sessions_skip_the_weekend_and_break_for_lunch() -> None:
    week = Calendar(date(2025, 4, 5), 3)  # Saturday, Sunday, Monday
    opens, closes = week.sessions(Market.TSE)
    monday = [
        (int(o) - 2 * DAY, int(c) - 2 * DAY)
        for o, c in zip(opens, closes, strict=True)
        if 2 * DAY <= o < 3 * DAY
    ]
    assert monday == [
        (9 * HOUR, 11 * HOUR + 30 * MINUTE),
        (12 * HOUR + 30 * MINUTE, 15 * HOUR + 30 * MINUTE),
    ]
    assert week.trading_days() == [2]


def test_timestamps_carry_the_japan_offset() -> None:
    stamp = Timestamps(Calendar(date(2025, 4, 1), 2))
    assert stamp(DAY + 9 * HOUR + 5) == "2025-04-02T09:00:05+09:00"
    assert stamp.many(np.array([5, DAY + 1])) == [
        "2025-04-01T00:00:05+09:00",
        "2025-04-02T00:00:01+09:00",
    ]


def test_tse_price_limits_follow_the_exchange_table() -> None:
    limits = tse_limits(np.array([84.0, 100.0, 2_700.0, 60_000.0]))
    assert limits.tolist() == [30.0, 50.0, 500.0, 10_000.0]


def test_prices_round_to_ticks_and_never_reach_zero() -> None:
    rounded = round_prices(np.array([83.6, 0.2, 0.12345]), np.array([0, 0, 3]))
    assert rounded.tolist() == [84.0, 1.0, 0.123]


def test_the_universe_has_every_tier_and_synthetic_pump_targets() -> None:
    instruments = universe()
    assert {i.tier for i in instruments} == set(Tier)
    low = [i for i in instruments if i.tier is Tier.TSE_LOW_PRICED]
    assert all(i.price < 300 and i.symbol[-1].isalpha() for i in low)  # e.g. "285A"
    assert len({(i.symbol, i.market) for i in instruments}) == len(instruments)


def test_a_pump_climbs_like_the_84_to_110_case_then_collapses() -> None:
    path = PumpPath(instrument=0, start=0, rise=90 * MINUTE, peak=110 / 84)
    assert path.ratio(0) == 1.0
    assert round(84 * path.ratio(path.rise)) == 110
    assert path.ratio(path.end) == pytest.approx(path.floor)
    climb = [path.ratio(t) for t in range(0, path.rise, MINUTE)]
    assert climb == sorted(climb)


def test_presets_scale_the_fsa_figures_as_documented() -> None:
    april = PRESETS["2025-04"].expected_hijacks(customers=20_000, days=30)
    assert sum(april.values()) == pytest.approx(5_441 * 20_000 / 40_000_000 * 200)
    trading = sum(
        april[c]
        for c in (
            Campaign.RELAY,
            Campaign.PUMP,
            Campaign.ATO_NAIVE,
            Campaign.ATO_VPN,
            Campaign.ATO_TARGETED,
        )
    )
    assert trading == pytest.approx(2_987 * 20_000 / 40_000_000 * 200)
    assert sum(PRESETS["quiet"].expected_hijacks(20_000, 30).values()) == 0
    payout = PRESETS["2020-payout"].expected_hijacks(20_000, 30)
    assert payout[Campaign.PAYOUT] == pytest.approx(6 * 20_000 / 5_500_000 * 2_000)
    required = {
        "2025-01",
        "2025-03",
        "2025-04",
        "2025-05",
        "2025-08",
        "2025-10",
        "2025-11",
        "quiet",
        "2020-payout",
    }
    assert required <= set(PRESETS)


def test_the_stream_sorts_each_window_and_refuses_to_go_back() -> None:
    events, labels = io.BytesIO(), io.BytesIO()
    stream = EventStream(events, labels)
    stream.emit(20, '"b":2}', '"l":2}')
    stream.emit(10, '"a":1}', '"l":1}')
    stream.flush_before(300)
    with pytest.raises(StreamOrderError):
        stream.emit(299, '"c":3}', '"l":3}')
    stream.close()
    assert events.getvalue().splitlines() == [
        b'{"event_id":"e000000000","a":1}',
        b'{"event_id":"e000000001","b":2}',
    ]
    assert labels.getvalue().splitlines()[0] == b'{"event_id":"e000000000","l":1}'


def test_customer_and_attacker_lines_share_one_layout() -> None:
    quotes = render.Quotes(universe())
    fields = render.session_fields("c0000001", "s1", address="1.2.3.4", agent="UA", device=None)
    trade = render.Trade("o1", "buy", 0, 100)
    one = render.order("2025-04-01T09:00:00+09:00", fields, trade, quotes, "2700")
    many = render.orders(
        ["2025-04-01T09:00:00+09:00"], [fields], ["o1"], sides=["buy"], symbols=[quotes.symbol[0]],
        quantities=[100], priced=[render.limit_priced("2700")], currencies=[quotes.currency[0]],
    )  # fmt: skip
    assert [one] == many
    assert one.startswith(
        '"type":"order","occurred_at":"2025-04-01T09:00:00+09:00","customer_id":"c0000001"'
    )


class _FullDisk(io.BytesIO):
    def write(self, data: object) -> int:
        raise OSError(28, "No space left on device")


def test_a_write_error_reaches_the_simulating_thread() -> None:
    stream = EventStream(_FullDisk(), io.BytesIO())
    stream.emit(10, '"a":1}', '"l":1}')
    with pytest.raises(OSError, match="No space left"):
        stream.close()
