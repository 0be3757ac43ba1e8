"""Judged by what players feel (issue 32), the false-alarm side: a good build
passes analysis in 10 deploys of 10, with no rollback. The fleet, Prometheus
and the traffic are test_analysis's, on addresses of their own, so this
suite runs beside it."""
import unittest

import test_analysis as fleet


class GoodBuildTest(fleet.AnalysisFleet):
    net = "127.0.75"

    def test_a_good_build_passes_ten_runs_of_ten(self):
        # Shorter steps than the others: ten deploys of two steps each.
        self.project = self.write_project(self.analysis(fleet.ERROR_RATE, "fail_if: '> 0.05'", interval=1, count=2))
        rollbacks = 0
        for run in range(10):
            self.commit(f"v{run + 2}")
            proc = self.deploy()
            verdicts = self.events(proc.stdout, "analysis_verdict")
            self.assertEqual([v["step"] for v in verdicts], ["canary", "batch 2"])
            rollbacks += len(self.events(proc.stdout, "host_rolled_back"))
        self.assertEqual(rollbacks, 0)
        self.assertEqual(set(self.serving().values()), {"v11"})


if __name__ == "__main__":
    unittest.main()
