import Support
import Testing

@Suite struct SampleStatisticsTests {
    /// Reference values from scipy 1.x: `stats.spearmanr(a, b).statistic` and
    /// `stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / sqrt(n)`.
    @Test func matchesScipy() throws {
        #expect(abs(try #require(SampleStatistics.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])) - 0.8207826816681233) < 1e-12)
        // ties on both sides (average ranks)
        #expect(abs(try #require(SampleStatistics.spearman([3, 1, 2, 2, 5, 4], [10, 30, 20, 25, 0, 5])) + 0.9856107606091624) < 1e-12)
        #expect(abs(try #require(SampleStatistics.confidenceHalfWidth95([1, 2, 3, 4])) - 2.0542602567605206) < 1e-3)
        let x = [0.5, 0.7, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8, 0.1, 1.0, 0.55, 0.65]
        #expect(abs(try #require(SampleStatistics.confidenceHalfWidth95(x)) - 0.1749671688290305) < 1e-4)
        let (m, sd) = SampleStatistics.meanAndDeviation([1, 2, 3, 4])
        #expect(m == 2.5 && abs(sd - 1.2909944487358056) < 1e-12)
    }

    @Test func degenerateInputs() {
        #expect(SampleStatistics.confidenceHalfWidth95([3]) == nil)
        #expect(SampleStatistics.spearman([1, 2], [2, 1]) == nil)
        #expect(SampleStatistics.spearman([1, 1, 1], [1, 2, 3]) == nil)
        #expect(SampleStatistics.spearman([1, 2, 3], [1, 2]) == nil)
        #expect(SampleStatistics.confidenceHalfWidth95([2, 2, 2]) == 0)
    }
}
