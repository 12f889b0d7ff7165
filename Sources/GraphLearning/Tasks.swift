import Foundation
import Support
import Neural

/// Results of training one classifier.
public struct GraphRunResult: Codable, Sendable {
    public var encoding: PositionalEncoding
    public var seed: UInt64
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var parameters: Int
    public var secondsPerEpoch: Double
    /// OpenBLAS's kernel family of the run (runs are reproducible to the bit per family); nil in
    /// files written before 2026-11-30.
    public var blasKernel: String?
    /// The options and model settings the run used (compared on --resume); nil in older files.
    public var settings: String?
}

/// Results of one regression run (one or more targets).
public struct GraphRegressionResult: Codable, Sendable {
    public var encoding: PositionalEncoding
    /// "GIN" or "GINE".
    public var network: String
    public var seed: UInt64
    public var targets: [String]
    /// Per target, in the target's units.
    public var trainMAE: [Double]
    public var testMAE: [Double]
    /// Test MAE divided by the target's standard deviation over the training set.
    public var testNormalizedMAE: [Double]
    /// Test mean squared error divided by the target's variance over the training set (1 − R²).
    public var testNormalizedMSE: [Double]
    /// Test MAE of predicting the training median, per target (the trivial baseline).
    public var baselineMAE: [Double]
    public var parameters: Int
    public var secondsPerEpoch: Double
    /// As in `GraphRunResult`.
    public var blasKernel: String?
    public var settings: String?
}

/// Training options shared by the experiments.
public struct GraphTrainingOptions: Sendable {
    public var epochs: Int
    public var learningRate: Double = 1e-3
    public var batch: Int = 32
    /// Cosine decay of the learning rate to 0 over the epochs (else constant).
    public var cosine = true
    public init(epochs: Int, learningRate: Double = 1e-3, batch: Int = 32, cosine: Bool = true) {
        self.epochs = epochs; self.learningRate = learningRate; self.batch = batch; self.cosine = cosine
    }
}

/// One value per core (model copies of a training step, outputs of `predict`): each core writes
/// only its own slot, through a pointer taken once, so no two cores touch one Swift property.
final class Slots<T>: @unchecked Sendable {
    let slots: UnsafeMutablePointer<T>
    let count: Int
    init(repeating value: T, count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: value, count: count)
    }
    subscript(i: Int) -> T {
        get { slots[i] }
        set { slots[i] = newValue }
    }
    deinit { slots.deinitialize(count: count); slots.deallocate() }
}

public enum GraphTraining {
    /// Blocks a minibatch is cut into (each through its own model copy, handed to the cores as
    /// they become free). A constant: the core count must not change the summation order.
    public static let blocks = 4

    /// Adam over shuffled minibatches. Each minibatch is cut into `blocks` blocks of graphs (4+ graphs each);
    /// each block is one `GraphBatch` (one product per layer) through its own copy of the model,
    /// with single-threaded BLAS, and the blocks' gradients are summed. `lossGradient(outputs,
    /// graphs, total)` gives d (loss summed over the block / total) / d outputs. Returns seconds per epoch.
    static func trainLoop(_ model: inout GraphModel, train: [PreparedGraph], options o: GraphTrainingOptions, rng: inout SplitMix64,
                          lossGradient: @escaping @Sendable (Matrix<Float>, [PreparedGraph], Int) -> Matrix<Float>) -> Double {
        var adam = Adam(parameterCount: model.parameters.count, learningRate: o.learningRate)
        var params = model.parameters
        let stepsPerEpoch = (train.count + o.batch - 1) / o.batch, total = max(1, o.epochs * stepsPerEpoch)
        var step = 0
        let t0 = Date()
        for _ in 0..<o.epochs {
            var order = Array(train.indices)
            order.shuffle(using: &rng)
            var start = 0
            while start < order.count {
                let graphs = order[start..<min(order.count, start + o.batch)].map { train[$0] }
                // blocks of at least 4 graphs, at most `blocks` of them — a constant, so that the
                // gradient's summation order is the same on any number of cores
                let shards = min(GraphTraining.blocks, max(1, graphs.count / 4))
                let box = Slots(repeating: model, count: shards), seeds = (0..<shards).map { _ in rng.next() }
                BLASThreads.blocks(rows: shards, maximum: GraphTraining.blocks) { s, _, _ in
                    let r0 = s * graphs.count / shards, r1 = (s + 1) * graphs.count / shards
                    var m = box[s]
                    m.zeroGradients()
                    var local = SplitMix64(seed: seeds[s])
                    let part = Array(graphs[r0..<r1]), batch = GraphBatch(part)
                    let out = m.forward(batch, training: true, using: &local)
                    m.backward(lossGradient(out, part, graphs.count), batch)
                    box[s] = m
                }
                var grad = box[0].gradients
                for s in 1..<shards { for (i, g) in box[s].gradients.enumerated() { grad[i] += g } }
                if o.cosine { adam.learningRate = o.learningRate * Schedule.cosineFactor(progress: Double(step) / Double(total), floor: 0) }
                adam.update(&params, gradients: grad)
                model.setParameters(params)
                start += o.batch; step += 1
            }
        }
        return Date().timeIntervalSince(t0) / Double(max(1, o.epochs))
    }

    /// Outputs for many graphs: up to `blocks` blocks of graphs, each evaluated in batches of 64
    /// with single-threaded BLAS.
    public static func predict(_ model: inout GraphModel, _ graphs: [PreparedGraph]) -> [[Float]] {
        let shards = min(GraphTraining.blocks, max(1, graphs.count / 16))
        let box = Slots<[[Float]]>(repeating: [], count: shards)
        let m0 = model
        BLASThreads.blocks(rows: shards, maximum: GraphTraining.blocks) { s, _, _ in
            var m = m0, rng = SplitMix64(seed: 0), out = [[Float]]()
            let r0 = s * graphs.count / shards, r1 = (s + 1) * graphs.count / shards
            for start in stride(from: r0, to: r1, by: 64) {
                let y = m.forward(GraphBatch(Array(graphs[start..<min(r1, start + 64)])), training: false, using: &rng)
                for r in 0..<y.rows { out.append(Array(y.values[(r * y.columns)..<((r + 1) * y.columns)])) }
            }
            box[s] = out
        }
        return (0..<shards).flatMap { box[$0] }
    }

    /// Adam on cross-entropy (classification).
    public static func trainClassifier(_ model: inout GraphModel, train: [PreparedGraph], options: GraphTrainingOptions, seed: UInt64) -> Double {
        var rng = SplitMix64(seed: seed &+ 0xC5)
        return trainLoop(&model, train: train, options: options, rng: &rng) { logits, graphs, total in
            var d = CrossEntropy.evaluate(logits, labels: graphs.map(\.graph.label)).1  // mean over the block
            let w = Float(graphs.count) / Float(total)
            for i in d.values.indices { d.values[i] *= w }
            return d
        }
    }

    /// The settings of a run in one line (all but encoding and seed), to tell runs of different
    /// settings apart in a results file.
    public static func settings(_ c: GraphModelConfiguration, _ o: GraphTrainingOptions) -> String {
        "epochs=\(o.epochs) lr=\(o.learningRate) batch=\(o.batch) cosine=\(o.cosine) k=\(c.k) p=\(c.positionalDimension) phi=\(c.phiHidden) "
            + "hidden=\(c.hidden) layers=\(c.layers) edgeTypes=\(c.edgeTypes) readout=\(c.readout.rawValue) deepSets=\(c.deepSets) "
            + "laplacian=\(c.laplacian.rawValue) basisFull=\(c.basisNetFull) eigenvalues=\(c.eigenvalues) rhoReLU=\(c.positionalReLU) "
            + "zeroOutput=\(c.zeroOutputLayer) scaledEigenvectors=\(c.scaledEigenvectors)"
    }

    public static func accuracy(_ model: inout GraphModel, _ graphs: [PreparedGraph]) -> Double {
        let outs = predict(&model, graphs)
        let correct = zip(outs, graphs).filter { o, g in o.indices.max(by: { o[$0] < o[$1] }) == g.graph.label }.count
        return Double(correct) / Double(max(1, graphs.count))
    }

    /// The CSL experiment for one encoding and seed: 15 relabelled graphs per class, 10 to train
    /// and 5 to test.
    public static func csl(encoding: PositionalEncoding, seed: UInt64, options: GraphTrainingOptions, k: Int = 8,
                           configure: (inout GraphModelConfiguration) -> Void = { _ in }) -> GraphRunResult {
        let graphs = GraphFamilies.csl(seed: 1000 &+ seed).map { PreparedGraph($0) }
        var train = [PreparedGraph](), test = [PreparedGraph]()
        for c in 0..<10 {
            let cls = graphs.filter { $0.graph.label == c }
            train += cls.prefix(10); test += cls.suffix(5)
        }
        var cfg = GraphModelConfiguration()
        cfg.encoding = encoding; cfg.k = k; cfg.outputs = 10; cfg.seed = seed
        configure(&cfg)
        var model = GraphModel(configuration: cfg, featureCount: 1)
        let spe = trainClassifier(&model, train: train, options: options, seed: seed)
        return GraphRunResult(encoding: encoding, seed: seed, trainAccuracy: accuracy(&model, train), testAccuracy: accuracy(&model, test),
                              parameters: model.usedParameterCount, secondsPerEpoch: spe, blasKernel: BLASThreads.kernelFamily,
                              settings: GraphTraining.settings(cfg, options))
    }
}

extension GraphTraining {
    /// Trains on the L1 loss of the targets standardised by the training mean and deviation, and
    /// scores every target on the test set. With GINE (`edgeTypes` > 0) the embedding table grows
    /// to cover every edge type in the data.
    public static func regression(train trainGraphs: [Graph], test testGraphs: [Graph], names: [String], encoding: PositionalEncoding,
                                  seed: UInt64, options: GraphTrainingOptions, k: Int = 8, laplacian: LaplacianKind = .normalized,
                                  configure: (inout GraphModelConfiguration) -> Void = { _ in }) -> GraphRegressionResult {
        let t = names.count
        precondition(!trainGraphs.isEmpty && !testGraphs.isEmpty && (trainGraphs + testGraphs).allSatisfy { $0.targets.count == t })
        let train = trainGraphs.map { PreparedGraph($0, laplacian: laplacian) }, test = testGraphs.map { PreparedGraph($0, laplacian: laplacian) }
        var mean = [Double](repeating: 0, count: t), scale = [Double](repeating: 0, count: t)
        for j in 0..<t {
            let ys = trainGraphs.map { $0.targets[j] }
            mean[j] = ys.reduce(0, +) / Double(ys.count)
            scale[j] = max(1e-9, (ys.map { ($0 - mean[j]) * ($0 - mean[j]) }.reduce(0, +) / Double(ys.count)).squareRoot())
        }
        let (mu, sigma) = (mean, scale)
        var cfg = GraphModelConfiguration()
        cfg.encoding = encoding; cfg.k = k; cfg.outputs = t; cfg.seed = seed; cfg.laplacian = laplacian
        configure(&cfg)
        if cfg.edgeTypes > 0 {  // GINE: one embedding for every edge type the data holds
            let most = (trainGraphs + testGraphs).flatMap(\.edgeTypes).max() ?? 0
            cfg.edgeTypes = max(cfg.edgeTypes, most + 1)
        }
        var model = GraphModel(configuration: cfg, featureCount: trainGraphs[0].featureCount)
        var rng = SplitMix64(seed: seed &+ 0xA5)
        let spe = trainLoop(&model, train: train, options: options, rng: &rng) { out, graphs, total in
            var d = Matrix<Float>(rows: out.rows, columns: t)
            let w = 1 / Float(total * t)
            for (r, g) in graphs.enumerated() {
                for j in 0..<t {
                    let o = out.values[r * t + j], y = Float((g.graph.targets[j] - mu[j]) / sigma[j])
                    d.values[r * t + j] = o > y ? w : (o < y ? -w : 0)
                }
            }
            return d
        }
        func errors(_ gs: [PreparedGraph]) -> (mae: [Double], mse: [Double]) {
            let outs = predict(&model, gs)
            var mae = [Double](repeating: 0, count: t), mse = mae
            for (o, g) in zip(outs, gs) {
                for j in 0..<t {
                    let e = Double(o[j]) * scale[j] + mean[j] - g.graph.targets[j]
                    mae[j] += Swift.abs(e) / Double(gs.count); mse[j] += e * e / Double(gs.count)
                }
            }
            return (mae, mse)
        }
        let tr = errors(train), te = errors(test)
        let baseline = (0..<t).map { j -> Double in
            let ys = trainGraphs.map { $0.targets[j] }.sorted()
            let median = ys[ys.count / 2]
            return testGraphs.reduce(0.0) { $0 + Swift.abs(median - $1.targets[j]) } / Double(testGraphs.count)
        }
        return GraphRegressionResult(encoding: encoding, network: cfg.edgeTypes > 0 ? "GINE" : "GIN", seed: seed, targets: names,
                                     trainMAE: tr.mae, testMAE: te.mae, testNormalizedMAE: (0..<t).map { te.mae[$0] / scale[$0] },
                                     testNormalizedMSE: (0..<t).map { te.mse[$0] / (scale[$0] * scale[$0]) }, baselineMAE: baseline,
                                     parameters: model.usedParameterCount, secondsPerEpoch: spe, blasKernel: BLASThreads.kernelFamily,
                                     settings: GraphTraining.settings(cfg, options))
    }

    /// The fixed micro-ZINC split: molecules in file order, every 5th to the test set (800 / 202 of 1002).
    public static func zincSplit(_ graphs: [Graph]) -> (train: [Graph], test: [Graph]) {
        (graphs.enumerated().filter { $0.offset % 5 != 4 }.map(\.element), graphs.enumerated().filter { $0.offset % 5 == 4 }.map(\.element))
    }

    /// Molecular regression on micro-ZINC (score = logp − SA): GIN, or GINE with the 5 bond types
    /// (0 none, 1 single, 2 double, 3 triple, 4 aromatic) when `edgeFeatures`.
    public static func zinc(_ graphs: [Graph], encoding: PositionalEncoding, seed: UInt64, options: GraphTrainingOptions, k: Int = 8,
                            edgeFeatures: Bool = true, layers: Int = 4,
                            configure: (inout GraphModelConfiguration) -> Void = { _ in }) -> GraphRegressionResult {
        let (train, test) = zincSplit(graphs)
        return regression(train: train, test: test, names: ["score"], encoding: encoding, seed: seed, options: options, k: k) {
            $0.edgeTypes = edgeFeatures ? 5 : 0; $0.layers = layers; $0.hidden = 64
            configure(&$0)
        }
    }
}
