import Foundation
import Support
import Neural

/// How a network is trained: a constant step, on purpose (the regime where weights keep moving).
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam }
    public var optimizer: OptimizerKind = .sgd
    public var learningRate: Double = 0.1
    public var momentum: Double = 0
    public var weightDecay: Double = 0
    public var batchNorm: Bool = false
    public var hidden: Int = 64
    public var batch: Int = 32
    public var epochs: Int = 200
    /// Epochs left out of the time averages.
    public var burnIn: Int = 50
    /// Seed of the initial weights and of the batch order (shared by S and S^(i)).
    public var seed: UInt64 = 0
    public init() {}
}

/// A two-hidden-layer ReLU classifier, optionally with BatchNorm after each hidden Linear.
struct Classifier {
    var l1: Linear<Float>, l2: Linear<Float>, l3: Linear<Float>
    var bn1: BatchNorm<Float>?, bn2: BatchNorm<Float>?
    var a1 = Activation<Float>(.relu), a2 = Activation<Float>(.relu)

    init(inputs: Int, hidden: Int, classes: Int, batchNorm: Bool, seed: UInt64) {
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 11)
        l1 = Linear(inputs: inputs, outputs: hidden, initializer: .kaimingNormal, using: &rng)
        l2 = Linear(inputs: hidden, outputs: hidden, initializer: .kaimingNormal, using: &rng)
        l3 = Linear(inputs: hidden, outputs: classes, using: &rng)
        if batchNorm { bn1 = BatchNorm(features: hidden); bn2 = BatchNorm(features: hidden) }
    }

    mutating func forward(_ x: Matrix<Float>, training: Bool) -> Matrix<Float> {
        bn1?.training = training; bn2?.training = training
        var h = l1.forward(x)
        if bn1 != nil { h = bn1!.forward(h) }
        h = a1.forward(h)
        h = l2.forward(h)
        if bn2 != nil { h = bn2!.forward(h) }
        h = a2.forward(h)
        return l3.forward(h)
    }

    mutating func backward(_ dy: Matrix<Float>) {
        var g = l3.backward(dy)
        g = a2.backward(g)
        if bn2 != nil { g = bn2!.backward(g) }
        g = l2.backward(g)
        g = a1.backward(g)
        if bn1 != nil { g = bn1!.backward(g) }
        _ = l1.backward(g)
    }

    mutating func zeroGradients() {
        l1.zeroGradients(); l2.zeroGradients(); l3.zeroGradients()
        if bn1 != nil { for i in bn1!.gammaGradient.indices { bn1!.gammaGradient[i] = 0; bn1!.betaGradient[i] = 0 } }
        if bn2 != nil { for i in bn2!.gammaGradient.indices { bn2!.gammaGradient[i] = 0; bn2!.betaGradient[i] = 0 } }
    }

    /// All trainable parameters (weights, biases, BatchNorm scales and shifts) in one vector.
    var parameters: [Float] {
        var p = l1.weight.values + l1.bias! + l2.weight.values + l2.bias! + l3.weight.values + l3.bias!
        if let b = bn1 { p += b.gamma + b.beta }
        if let b = bn2 { p += b.gamma + b.beta }
        return p
    }
    var gradients: [Float] {
        var g = l1.weightGradient.values + l1.biasGradient! + l2.weightGradient.values + l2.biasGradient! + l3.weightGradient.values + l3.biasGradient!
        if let b = bn1 { g += b.gammaGradient + b.betaGradient }
        if let b = bn2 { g += b.gammaGradient + b.betaGradient }
        return g
    }
    mutating func setParameters(_ p: [Float]) {
        var o = 0
        func take(_ n: Int) -> [Float] { defer { o += n }; return Array(p[o..<(o + n)]) }
        l1.weight.values = take(l1.weight.values.count); l1.bias = take(l1.outputs)
        l2.weight.values = take(l2.weight.values.count); l2.bias = take(l2.outputs)
        l3.weight.values = take(l3.weight.values.count); l3.bias = take(l3.outputs)
        if bn1 != nil { bn1!.gamma = take(bn1!.gamma.count); bn1!.beta = take(bn1!.beta.count) }
        if bn2 != nil { bn2!.gamma = take(bn2!.gamma.count); bn2!.beta = take(bn2!.beta.count) }
    }
}

/// Everything recorded along one training run, once per epoch.
public struct TrainingRecord: Codable, Sendable {
    public var configuration: TrainingConfiguration
    /// [epoch][sample] cross-entropy of every training sample (the training set as trained on).
    public var trainLoss: [[Double]]
    /// [epoch][sample] cross-entropy of every test sample.
    public var testLoss: [[Double]]
    public var trainAccuracy: [Double]
    public var testAccuracy: [Double]
    public var weightNorm: [Double]
    /// ‖w_e − w_{e−1}‖ between the weights at the ends of consecutive epochs (0 for the first).
    public var stepDistance: [Double]

    public init(configuration: TrainingConfiguration, trainLoss: [[Double]], testLoss: [[Double]], trainAccuracy: [Double],
                testAccuracy: [Double], weightNorm: [Double], stepDistance: [Double]) {
        self.configuration = configuration; self.trainLoss = trainLoss; self.testLoss = testLoss
        self.trainAccuracy = trainAccuracy; self.testAccuracy = testAccuracy; self.weightNorm = weightNorm; self.stepDistance = stepDistance
    }

    /// Per-sample time averages over the epochs after the burn-in.
    public var timeAveragedTrain: [Double] { TrainingRecord.average(trainLoss, from: configuration.burnIn) }
    public var timeAveragedTest: [Double] { TrainingRecord.average(testLoss, from: configuration.burnIn) }
    /// Mean over samples of the time-averaged losses: the empirical and the test risk.
    public var empiricalRisk: Double { mean(timeAveragedTrain) }
    public var testRisk: Double { mean(timeAveragedTest) }
    public var generalizationGap: Double { testRisk - empiricalRisk }
    /// Mean loss per epoch.
    public var meanTrainLoss: [Double] { trainLoss.map(mean) }
    public var meanTestLoss: [Double] { testLoss.map(mean) }

    static func average(_ series: [[Double]], from burnIn: Int) -> [Double] {
        let rows = series.dropFirst(min(burnIn, max(0, series.count - 1)))
        guard let first = rows.first else { return [] }
        var acc = [Double](repeating: 0, count: first.count)
        for r in rows { for i in acc.indices { acc[i] += r[i] } }
        return acc.map { $0 / Double(rows.count) }
    }
}

func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

public enum Trainer {
    /// Trains from the seed's initial weights with the seed's batch order (a permutation of
    /// positions 0..<n per epoch, independent of the data, so S and S^(i) see the same order).
    /// `progress` gets the finished epoch.
    /// - Parameter checkpoint: a file to save the state to after every epoch (atomically) and
    ///   to resume from when it exists and belongs to the same configuration and data: an
    ///   interrupted run continues exactly.
    public static func train(_ train: Dataset, test: Dataset, configuration c: TrainingConfiguration,
                             checkpoint: String? = nil, progress: ((Int) -> Void)? = nil) throws -> TrainingRecord {
        // Products of 32 × 64 matrices: threads cost more than they give. Runs go in parallel instead.
        try BLASThreads.singleThreaded { try trainSerial(train, test: test, configuration: c, checkpoint: checkpoint, progress: progress) }
    }

    struct Checkpoint: Codable {
        var configuration: TrainingConfiguration
        var fingerprint: [Int]
        var epoch: Int
        var parameters: [Float]
        var sgd: SGD
        var adam: Adam
        var running: [[Float]]
        var rng: UInt64
        var record: TrainingRecord
    }

    static func fingerprint(_ a: Dataset, _ b: Dataset) -> [Int] {
        func h(_ d: Dataset) -> Int {
            var x = 1469598103934665603 as UInt64
            for l in d.labels { x = (x ^ UInt64(l)) &* 1099511628211 }
            for f in d.features { x = (x ^ UInt64(f.bitPattern)) &* 1099511628211 }
            return Int(truncatingIfNeeded: x)
        }
        return [a.count, b.count, h(a), h(b)]
    }

    static func trainSerial(_ train: Dataset, test: Dataset, configuration c: TrainingConfiguration,
                            checkpoint: String?, progress: ((Int) -> Void)?) throws -> TrainingRecord {
        guard c.epochs >= 1, c.batch >= 1, c.hidden >= 1, c.learningRate > 0, c.learningRate.isFinite else {
            throw DynamicsError.invalid("epochs, batch, hidden and the learning rate must be positive")
        }
        var run = TrainingRun(train: train, test: test, configuration: c)
        var first = 0, lastSave = Date()
        if let path = checkpoint, let data = FileManager.default.contents(atPath: path) {
            first = try run.restore(data, path: path)
        }
        for epoch in first..<max(first, c.epochs) {
            try run.epoch(epoch)
            run.record(epoch)
            if let path = checkpoint, epoch + 1 == c.epochs || Date().timeIntervalSince(lastSave) > 10 {
                lastSave = Date()
                try AtomicFile.write(try TexfieldJSON.encoder(pretty: false).encode(run.checkpoint(after: epoch)), to: path)
            }
            progress?(epoch + 1)
        }
        return run.history
    }

    /// The state of one constant-step training run: network, optimiser states, batch-order
    /// generator, and the record so far. One epoch, then its record, then (maybe) a checkpoint.
    struct TrainingRun {
        let train: Dataset, test: Dataset, c: TrainingConfiguration
        var net: Classifier
        var params: [Float]
        var sgd: SGD
        var adam: Adam
        var rng: SplitMix64
        var history: TrainingRecord
        var previous: [Float]
        let fingerprint: [Int]

        init(train: Dataset, test: Dataset, configuration c: TrainingConfiguration) {
            self.train = train; self.test = test; self.c = c
            net = Classifier(inputs: train.dimension, hidden: c.hidden, classes: max(train.classes, test.classes), batchNorm: c.batchNorm, seed: c.seed)
            params = net.parameters
            sgd = SGD(learningRate: c.learningRate, momentum: c.momentum, weightDecay: c.weightDecay)
            adam = Adam(parameterCount: params.count, learningRate: c.learningRate, decoupled: false, weightDecay: c.weightDecay)
            rng = SplitMix64(seed: c.seed ^ 0xBA7C_0DE5)
            history = TrainingRecord(configuration: c, trainLoss: [], testLoss: [], trainAccuracy: [], testAccuracy: [],
                                     weightNorm: [], stepDistance: [])
            previous = params
            fingerprint = Trainer.fingerprint(train, test)
        }

        /// Restores a checkpoint of the same configuration (the epoch count may differ) and data;
        /// returns the epoch to continue from.
        mutating func restore(_ data: Data, path: String) throws -> Int {
            guard let ck = try? TexfieldJSON.decoder().decode(Checkpoint.self, from: data) else {
                throw DynamicsError.invalid("\(path): not a dynamics checkpoint (delete it to start over)")
            }
            var mine = c, theirs = ck.configuration
            mine.epochs = 0; theirs.epochs = 0
            guard mine == theirs, ck.fingerprint == fingerprint else { throw DynamicsError.checkpointMismatch(path: path) }
            guard ck.parameters.count == params.count, ck.parameters.allSatisfy(\.isFinite), (0...1_000_000).contains(ck.epoch),
                  ck.record.trainLoss.count == ck.epoch else {
                throw DynamicsError.invalid("\(path): checkpoint values out of range (epoch \(ck.epoch), \(ck.parameters.count) parameters)")
            }
            params = ck.parameters; sgd = ck.sgd; adam = ck.adam; rng.state = ck.rng; history = ck.record
            history.configuration = c
            net.setParameters(params)
            if net.bn1 != nil, ck.running.count == 4 {
                net.bn1!.runningMean = ck.running[0]; net.bn1!.runningVariance = ck.running[1]
                net.bn2!.runningMean = ck.running[2]; net.bn2!.runningVariance = ck.running[3]
            }
            previous = params
            return ck.epoch
        }

        /// One pass over the training set in this epoch's order, one step per batch.
        mutating func epoch(_ epoch: Int) throws {
            let n = train.count, d = train.dimension
            var order = Array(0..<n)
            order.shuffle(using: &rng)
            var start = 0
            while start < n {
                let idx = Array(order[start..<min(n, start + c.batch)])
                start += c.batch
                if c.batchNorm && idx.count < 2 { continue }  // BatchNorm needs two samples
                var x = Matrix<Float>(rows: idx.count, columns: d)
                for (r, i) in idx.enumerated() { for j in 0..<d { x.values[r * d + j] = train.features[i * d + j] } }
                net.zeroGradients()
                let logits = net.forward(x, training: true)
                let (loss, grad, _) = CrossEntropy.evaluate(logits, labels: idx.map { train.labels[$0] })
                guard loss.isFinite else { throw DynamicsError.invalid("training diverged at epoch \(epoch + 1) (loss \(loss)); lower the learning rate") }
                net.backward(grad)
                let g = net.gradients
                if c.optimizer == .sgd { sgd.update(&params, gradients: g) } else { adam.update(&params, gradients: g) }
                net.setParameters(params)
            }
        }

        /// Every sample's loss and the accuracies after `epoch`, the weight norm and the step.
        mutating func record(_ epoch: Int) {
            let (trl, tra) = Trainer.evaluate(&net, train), (tel, tea) = Trainer.evaluate(&net, test)
            history.trainLoss.append(trl); history.testLoss.append(tel)
            history.trainAccuracy.append(tra); history.testAccuracy.append(tea)
            history.weightNorm.append(params.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot())
            history.stepDistance.append(epoch == 0 ? 0 : zip(params, previous).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot())
            previous = params
        }

        func checkpoint(after epoch: Int) -> Checkpoint {
            let running = net.bn1 == nil ? [] : [net.bn1!.runningMean, net.bn1!.runningVariance, net.bn2!.runningMean, net.bn2!.runningVariance]
            return Checkpoint(configuration: c, fingerprint: fingerprint, epoch: epoch + 1, parameters: params, sgd: sgd, adam: adam,
                              running: running, rng: rng.state, record: history)
        }
    }

    /// Per-sample losses and accuracy of the network in evaluation mode.
    static func evaluate(_ net: inout Classifier, _ data: Dataset) -> ([Double], Double) {
        let x = Matrix(rows: data.count, columns: data.dimension, values: data.features)
        let logits = net.forward(x, training: false)
        let (_, _, per) = CrossEntropy.evaluate(logits, labels: data.labels)
        var correct = 0
        for r in 0..<data.count {
            var best = 0
            for c in 1..<logits.columns where logits[r, c] > logits[r, best] { best = c }
            if best == data.labels[r] { correct += 1 }
        }
        return (per.map(Double.init), Double(correct) / Double(max(1, data.count)))
    }
}
