"""Analytics: pure functions over results and traces (bottlenecks now; sensitivity and tuning to come)."""
