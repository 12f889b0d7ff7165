import Support
import Foundation
import Geometry
import Neural

/// One point of the training curve.
public struct HistoryPoint: Codable, Sendable, Equatable {
    public var step: Int
    public var seconds: Double
    /// Mean L1 and PSNR (from the mean squared error) over the training batches since the last point.
    public var trainL1: Double
    public var trainPSNR: Double
    public var validationL1: Double?
    public var validationPSNR: Double?
    /// PSNR against the input texture on a fixed sample of atlas texels (`Trainer.textureSample`).
    public var texturePSNR: Double?
}

/// What the progress callback sees.
public struct TrainingProgress: Sendable {
    public var step: Int
    public var maxSteps: Int
    public var seconds: Double
    public var budget: Double
    public var loss: Double
    public var trainPSNR: Double
    public var bestValidationPSNR: Double?
    public var samplesPerSecond: Double
    public var fraction: Double { min(1, max(Double(step) / Double(max(1, maxSteps)), seconds / max(budget, 1e-9))) }
}

/// The state that makes a run resumable: step, elapsed training time, the best model so far.
public struct TrainingState: Codable, Sendable {
    public var step = 0
    public var seconds = 0.0
    public var bestValidationL1 = Double.infinity
    public var bestStep = 0
    public var history: [HistoryPoint] = []
    public var finished = false
    public init() {}
}

/// How `Trainer.run` ended.
public enum TrainingEnd: Sendable, Equatable {
    /// The step or time budget was spent.
    case budgetSpent
    /// `shouldStop` returned true; the state is that after the last completed step.
    case interrupted
    /// A non-finite loss appeared at `step` (the step was not counted: the state, the best model
    /// and any checkpoint written so far are from before it).
    case diverged(step: Int, loss: Double)
}

/// The training loop of the reference protocol: rays of the training views shuffled each epoch,
/// batches of `batch`, L1, Adam; the validation loss every `validateEvery` steps decides the
/// model kept. All randomness is a function of (seed, epoch) and (seed, step), so a resumed run
/// continues exactly as an uninterrupted one would.
public final class Trainer: @unchecked Sendable {
    public let model: FieldModel
    public let trainRays: ViewRays
    public let validationRays: ViewRays
    public var state = TrainingState()
    public var best: ([Float], [Float]?)
    /// Texels of the input texture (`Baker.texelSample`): when set, every validation also measures
    /// texture-space PSNR on them (not used for choosing the model).
    public var textureSample: ViewRays?
    var trainL1Sum = 0.0, trainSESum = 0.0, sinceLast = 0

    public init(model: FieldModel, train: ViewRays, validation: ViewRays) {
        self.model = model
        trainRays = train
        // A fixed random subset of the validation pixels.
        let c = model.configuration
        var v = validation
        if v.count > c.validationRays {
            var rng = SplitMix64(seed: c.seed ^ 0x5EED_7A11)
            var idx = Array(0..<v.count)
            for i in 0..<c.validationRays { idx.swapAt(i, Int.random(in: i..<idx.count, using: &rng)) }
            var sub = ViewRays()
            for i in idx.prefix(c.validationRays).sorted() {
                sub.points.append(point: i, of: v.points)
                sub.colors += v.colors[(3 * i)..<(3 * i + 3)]
            }
            v = sub
        }
        validationRays = v
        best = model.parameterSnapshot
    }

    /// The permutation of the training rays in epoch `e`.
    func order(epoch e: Int) -> [Int32] {
        let n = trainRays.count
        var o = (0..<n).map { Int32($0) }
        var rng = SplitMix64(seed: model.configuration.seed &+ 0xE90C &* UInt64(e + 1))
        for i in stride(from: n - 1, to: 0, by: -1) { o.swapAt(i, Int.random(in: 0...i, using: &rng)) }
        return o
    }

    func signs(step s: Int) -> [Float]? {
        guard model.configuration.encoding == .signflip else { return nil }
        var rng = SplitMix64(seed: model.configuration.seed ^ (0x51C7 &* UInt64(s + 1)))
        return (0..<model.surface.k).map { _ in rng.next() & 1 == 0 ? 1 : -1 }
    }

    /// Trains until the step or time budget is spent, `shouldStop` returns true (checked
    /// between steps), or the loss stops being a finite number (checked at every step and every
    /// validation: the run stops at the step where it appears).
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, progress: ((TrainingProgress) -> Void)? = nil) -> TrainingEnd {
        let c = model.configuration
        let n = trainRays.count
        let perEpoch = max(1, (n + c.batch - 1) / c.batch)
        var epoch = -1
        var ord = [Int32]()
        var segmentStart = Date()
        let segmentBase = state.seconds
        while state.step < c.steps && state.seconds < c.seconds {
            if shouldStop() { return .interrupted }
            let e = state.step / perEpoch
            if e != epoch { ord = order(epoch: e); epoch = e }
            let start = (state.step % perEpoch) * c.batch
            let rows = min(c.batch, n - start)
            let f = max(Double(state.step) / Double(max(1, c.steps)), state.seconds / max(c.seconds, 1e-9))
            var rate = c.effectiveLearningRate * c.schedule.factor(f)
            if let w = c.warmupSteps, state.step < w { rate *= Double(state.step + 1) / Double(w) }
            model.adam.learningRate = rate
            model.phiAdam?.learningRate = rate
            let (l1, mse) = model.trainStep(trainRays.points, colors: trainRays.colors, order: ord, start: start, rows: rows,
                                            signs: signs(step: state.step))
            guard l1.isFinite, mse.isFinite else { return .diverged(step: state.step + 1, loss: l1.isFinite ? mse : l1) }
            state.step += 1
            state.seconds = segmentBase + Date().timeIntervalSince(segmentStart)
            trainL1Sum += l1; trainSESum += mse; sinceLast += 1
            let due = state.step % max(1, c.validateEvery) == 0 || state.step >= c.steps || state.seconds >= c.seconds
            if due {
                // Validation time is not training time: the clock pauses.
                let pause = Date()
                if let bad = validate() { return .diverged(step: state.step, loss: bad) }
                segmentStart = segmentStart.addingTimeInterval(Date().timeIntervalSince(pause))
            }
            if let progress {
                // The callback's time (progress bar, checkpoints, snapshots) is not training time.
                let pause = Date()
                defer { segmentStart = segmentStart.addingTimeInterval(Date().timeIntervalSince(pause)) }
                progress(TrainingProgress(step: state.step, maxSteps: c.steps, seconds: state.seconds, budget: c.seconds,
                                          loss: l1, trainPSNR: psnr(mse), bestValidationPSNR: state.history.compactMap(\.validationPSNR).max(),
                                          samplesPerSecond: Double(state.step * c.batch) / max(state.seconds, 1e-9)))
            }
        }
        // The model kept must have been validated at the last step (also when a resumed run's
        // budget ends at or before the checkpoint's step).
        if state.history.last?.step != state.step, let bad = validate() { return .diverged(step: state.step, loss: bad) }
        state.finished = true
        return .budgetSpent
    }

    /// Measures the validation loss, appends a history point, keeps the best model. Returns the
    /// loss when it is not finite (nothing is recorded then).
    func validate() -> Double? {
        let p = model.predict(validationRays.points)
        var l1 = 0.0, se = 0.0
        for i in p.indices { let d = Double(p[i] - validationRays.colors[i]); l1 += Swift.abs(d); se += d * d }
        l1 /= Double(max(1, p.count)); se /= Double(max(1, p.count))
        guard l1.isFinite, se.isFinite else { return l1.isFinite ? se : l1 }
        // No training batch since the last point (a resumed run validated at once): NaN.
        var point = HistoryPoint(step: state.step, seconds: state.seconds, trainL1: sinceLast > 0 ? trainL1Sum / Double(sinceLast) : .nan,
                                 trainPSNR: sinceLast > 0 ? psnr(trainSESum / Double(sinceLast)) : .nan, validationL1: l1, validationPSNR: psnr(se))
        if let t = textureSample, t.count > 0 {
            let q = model.predict(t.points)
            var tse = 0.0
            for i in q.indices { let d = Double(q[i] - t.colors[i]); tse += d * d }
            point.texturePSNR = psnr(tse / Double(q.count))
        }
        state.history.append(point)
        trainL1Sum = 0; trainSESum = 0; sinceLast = 0
        if l1 < state.bestValidationL1 {
            state.bestValidationL1 = l1
            state.bestStep = state.step
            best = model.parameterSnapshot
        }
        return nil
    }
}

func psnr(_ mse: Double) -> Double { mse > 0 ? -10 * log10(mse) : .infinity }
