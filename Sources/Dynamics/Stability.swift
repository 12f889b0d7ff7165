import Foundation
import Support

/// What one run (on S or on some S^(i)) keeps for the stability analysis.
public struct RunSummary: Codable, Sendable {
    /// -1 for the run on S; otherwise the training sample replaced.
    public var replaced: Int
    public var timeAveragedTrain: [Double]
    public var timeAveragedTest: [Double]
    public var meanTrainLoss: [Double]
    public var meanTestLoss: [Double]
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var weightNorm: [Double]
    public var stepDistance: [Double]
    /// The autocorrelation of the test samples' loss series after the burn-in, averaged over samples.
    public var autocorrelation: [Double]
    public var empiricalRisk: Double
    public var testRisk: Double
    /// The periodogram of the mean test loss after the burn-in (frequencies j / T per epoch).
    public var spectrum: [Double]?

    public init(_ r: TrainingRecord, replaced: Int, maxLag: Int = 40) {
        self.replaced = replaced
        timeAveragedTrain = r.timeAveragedTrain
        timeAveragedTest = r.timeAveragedTest
        meanTrainLoss = r.meanTrainLoss
        meanTestLoss = r.meanTestLoss
        trainAccuracy = r.trainAccuracy.last ?? .nan
        testAccuracy = r.testAccuracy.last ?? .nan
        weightNorm = r.weightNorm
        stepDistance = r.stepDistance
        let after = Array(r.testLoss.dropFirst(min(r.configuration.burnIn, max(0, r.testLoss.count - 2))))
        var acf = [Double](repeating: 0, count: maxLag + 1), counted = 0
        if let m = after.first?.count, after.count > 2 {
            for z in 0..<m {
                let a = SeriesStatistics.autocorrelation(after.map { $0[z] }, maxLag: maxLag)
                guard a.count == acf.count, a.allSatisfy(\.isFinite) else { continue }
                for k in acf.indices { acf[k] += a[k] }
                counted += 1
            }
        }
        autocorrelation = counted > 0 ? acf.map { $0 / Double(counted) } : []
        empiricalRisk = r.empiricalRisk
        testRisk = r.testRisk
        spectrum = SeriesStatistics.spectralDensity(Array(r.meanTestLoss.dropFirst(min(r.configuration.burnIn, max(0, r.meanTestLoss.count - 2)))))
    }
}

/// β̂ and the bound for one configuration, from the run on S and runs on S^(i).
public struct StabilityEstimate: Codable, Sendable {
    public var trainCount: Int
    public var pairs: Int
    /// sup over test points z and pairs of |⟨ℓ_z⟩_S − ⟨ℓ_z⟩_S^(i)|.
    public var betaSup: Double
    /// mean over pairs of |mean_z ⟨ℓ_z⟩_S − mean_z ⟨ℓ_z⟩_S^(i)| (the paper's mean test-loss version).
    public var betaMean: Double
    public var empiricalRisk: Double
    public var testRisk: Double
    public var gap: Double
    /// The loss bound L used in the bound: the largest time-averaged loss seen (cross-entropy is
    /// not bounded a priori).
    public var lossBound: Double
    public var delta: Double
    /// R̂ + β + 2(nβ + L)·sqrt(log(2/δ) / (2n)) with β = betaSup.
    public var bound: Double
    /// The lag at which the averaged loss autocorrelation falls below 1/e (epochs).
    public var mixingTime: Double?

    public static func estimate(base: RunSummary, perturbed: [RunSummary], delta: Double = 0.05) -> StabilityEstimate {
        let n = base.timeAveragedTrain.count
        var sup = 0.0, meanDiff = 0.0
        for p in perturbed {
            for (a, b) in zip(base.timeAveragedTest, p.timeAveragedTest) { sup = max(sup, abs(a - b)) }
            meanDiff += abs(base.testRisk - p.testRisk)
        }
        meanDiff /= Double(max(1, perturbed.count))
        let L = ([base] + perturbed).flatMap { $0.timeAveragedTest + $0.timeAveragedTrain }.max() ?? 0
        let bound = base.empiricalRisk + sup + 2 * (Double(n) * sup + L) * (log(2 / delta) / (2 * Double(n))).squareRoot()
        return StabilityEstimate(trainCount: n, pairs: perturbed.count, betaSup: sup, betaMean: meanDiff,
                                 empiricalRisk: base.empiricalRisk, testRisk: base.testRisk, gap: base.testRisk - base.empiricalRisk,
                                 lossBound: L, delta: delta, bound: bound, mixingTime: SeriesStatistics.mixingTime(base.autocorrelation))
    }
}

/// One point of a sweep: data, label noise, training, and how many S^(i).
public struct SweepPoint: Codable, Sendable, Equatable {
    public var labelNoise: Double
    public var training: TrainingConfiguration
    public var perturbations: Int
    public var name: String {
        String(format: "noise%02d-lr%g%@%@", Int(clamping: (labelNoise * 100).rounded(), to: -1...1000), training.learningRate,
               training.optimizer == .adam ? "-adam" : "", training.seed == 0 ? "" : "-seed\(training.seed)")
    }
    public init(labelNoise: Double, training: TrainingConfiguration, perturbations: Int) {
        self.labelNoise = labelNoise; self.training = training; self.perturbations = perturbations
    }

    /// The training set of run r: S (r = 0, with the label noise) or S^(i) — sample i (drawn
    /// from the seed) replaced by spare sample r − 1.
    public func trainingSet(_ split: DataSplit, run r: Int) -> (Dataset, Int) {
        let noisy = split.train.withLabelNoise(labelNoise, seed: training.seed &+ 1234)
        guard r > 0 else { return (noisy, -1) }
        var rng = SplitMix64(seed: training.seed &+ 77 &* UInt64(r))
        let i = Int.random(in: 0..<noisy.count, using: &rng)
        var s = noisy
        let d = s.dimension, j = (r - 1) % split.spare.count
        for k in 0..<d { s.features[i * d + k] = split.spare.features[j * d + k] }
        s.labels[i] = split.spare.labels[j]
        return (s, i)
    }
}
