import Foundation
import Geometry
import Neural

/// Graph families used by the experiments.
public enum GraphFamilies {
    /// The Circular Skip Link graphs (Murphy et al. 2019): the 41-cycle with every node i also
    /// joined to i + R (mod 41), R ∈ {2, 3, 4, 5, 6, 9, 11, 12, 13, 16} — ten classes of 4-regular
    /// graphs that 1-WL cannot tell apart — each graph a random relabelling of its class's graph.
    public static let skips = [2, 3, 4, 5, 6, 9, 11, 12, 13, 16]

    public static func csl(perClass: Int = 15, seed: UInt64 = 0) -> [Graph] {
        var rng = SplitMix64(seed: seed)
        var out = [Graph]()
        for (label, r) in skips.enumerated() {
            var edges = [(Int, Int)]()
            for i in 0..<41 { edges.append((i, (i + 1) % 41)); edges.append((i, (i + r) % 41)) }
            let base = Graph(nodeCount: 41, edges: edges, label: label)
            for _ in 0..<perClass {
                var p = Array(0..<41)
                p.shuffle(using: &rng)
                out.append(base.permuted(p))
            }
        }
        return out
    }
}

/// Results of training one model.
public struct GraphRunResult: Codable, Sendable {
    public var encoding: PositionalEncoding
    public var seed: UInt64
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var parameters: Int
    public var secondsPerEpoch: Double
}

public enum GraphTraining {
    /// Adam over shuffled minibatches of graphs; `lossGradient(output, graph)` gives d loss / d output
    /// for one graph. Returns seconds per epoch.
    static func trainLoop(_ model: inout GraphModel, train: [PreparedGraph], epochs: Int, learningRate: Double, batch: Int,
                          rng: inout SplitMix64, lossGradient: ([Float], Graph) -> [Float]) -> Double {
        var adam = Adam(parameterCount: model.parameters.count, learningRate: learningRate)
        var params = model.parameters
        let t0 = Date()
        for _ in 0..<epochs {
            var order = Array(train.indices)
            order.shuffle(using: &rng)
            var start = 0
            while start < order.count {
                model.zeroGradients()
                let idx = order[start..<min(order.count, start + batch)]
                for i in idx {
                    let g = train[i]
                    let out = model.forward(g, training: true, using: &rng)
                    model.backward(lossGradient(out, g.graph).map { $0 / Float(idx.count) }, g)
                }
                adam.update(&params, gradients: model.gradients)
                model.setParameters(params)
                start += batch
            }
        }
        return Date().timeIntervalSince(t0) / Double(max(1, epochs))
    }

    /// Adam on cross-entropy (classification) over minibatches of graphs.
    public static func trainClassifier(_ model: inout GraphModel, train: [PreparedGraph], epochs: Int, learningRate: Double = 1e-3,
                                       batch: Int = 16, seed: UInt64) -> Double {
        var rng = SplitMix64(seed: seed &+ 0xC5)
        return trainLoop(&model, train: train, epochs: epochs, learningRate: learningRate, batch: batch, rng: &rng) { logits, g in
            CrossEntropy.evaluate(Matrix<Float>(rows: 1, columns: logits.count, values: logits), labels: [g.label]).1.values
        }
    }

    public static func accuracy(_ model: inout GraphModel, _ graphs: [PreparedGraph]) -> Double {
        var rng = SplitMix64(seed: 0)
        var correct = 0
        for g in graphs {
            let o = model.forward(g, training: false, using: &rng)
            if o.indices.max(by: { o[$0] < o[$1] }) == g.graph.label { correct += 1 }
        }
        return Double(correct) / Double(max(1, graphs.count))
    }

    /// The CSL experiment for one encoding and seed: per class, 10 graphs train and 5 test.
    public static func csl(encoding: PositionalEncoding, seed: UInt64, epochs: Int = 60, k: Int = 8, learningRate: Double = 1e-3) -> GraphRunResult {
        let graphs = GraphFamilies.csl(seed: 1000 &+ seed).map { PreparedGraph($0) }
        var train = [PreparedGraph](), test = [PreparedGraph]()
        for c in 0..<10 {
            let cls = graphs.filter { $0.graph.label == c }
            train += cls.prefix(10); test += cls.suffix(5)
        }
        var cfg = GraphModelConfiguration()
        cfg.encoding = encoding; cfg.k = k; cfg.outputs = 10; cfg.seed = seed
        var model = GraphModel(configuration: cfg, featureCount: 1)
        let spe = trainClassifier(&model, train: train, epochs: epochs, learningRate: learningRate, seed: seed)
        return GraphRunResult(encoding: encoding, seed: seed, trainAccuracy: accuracy(&model, train), testAccuracy: accuracy(&model, test),
                              parameters: model.usedParameterCount, secondsPerEpoch: spe)
    }
}

/// Results of one regression run.
public struct GraphRegressionResult: Codable, Sendable {
    public var encoding: PositionalEncoding
    public var seed: UInt64
    public var trainMAE: Double
    public var testMAE: Double
    /// MAE of predicting the training mean (the trivial baseline).
    public var baselineMAE: Double
    public var parameters: Int
    public var secondsPerEpoch: Double
}

extension GraphTraining {
    /// Adam on the L1 loss of a scalar target (standardised by the training mean and spread).
    public static func trainRegressor(_ model: inout GraphModel, train: [PreparedGraph], epochs: Int, learningRate: Double = 1e-3,
                                      batch: Int = 32, seed: UInt64, mean: Double, scale: Double) -> Double {
        var rng = SplitMix64(seed: seed &+ 0xA5)
        return trainLoop(&model, train: train, epochs: epochs, learningRate: learningRate, batch: batch, rng: &rng) { out, g in
            let o = out[0], y = Float((g.target - mean) / scale)
            return [o > y ? 1 : (o < y ? -1 : 0)]
        }
    }

    public static func meanAbsoluteError(_ model: inout GraphModel, _ graphs: [PreparedGraph], mean: Double, scale: Double) -> Double {
        var rng = SplitMix64(seed: 0)
        var s = 0.0
        for g in graphs { s += Swift.abs(Double(model.forward(g, training: false, using: &rng)[0]) * scale + mean - g.graph.target) }
        return s / Double(max(1, graphs.count))
    }

    /// Molecular regression on micro-ZINC: a fixed split (molecules in file order, every 5th
    /// to the test set: 800 / 202 of 1002), GIN with the given encoding, L1 on the standardised target.
    public static func zinc(_ graphs: [Graph], encoding: PositionalEncoding, seed: UInt64, epochs: Int, k: Int = 8,
                            learningRate: Double = 1e-3) -> GraphRegressionResult {
        let prepared = graphs.map { PreparedGraph($0) }
        let train = prepared.enumerated().filter { $0.offset % 5 != 4 }.map(\.element)
        let test = prepared.enumerated().filter { $0.offset % 5 == 4 }.map(\.element)
        let ys = train.map(\.graph.target)
        let mean = ys.reduce(0, +) / Double(ys.count)
        let scale = max(1e-9, (ys.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(ys.count)).squareRoot())
        var cfg = GraphModelConfiguration()
        cfg.encoding = encoding; cfg.k = k; cfg.outputs = 1; cfg.seed = seed
        var model = GraphModel(configuration: cfg, featureCount: graphs[0].featureCount)
        let spe = trainRegressor(&model, train: train, epochs: epochs, learningRate: learningRate, seed: seed, mean: mean, scale: scale)
        var ts = ys; ts.sort()
        let median = ts[ts.count / 2]
        let baseline = test.reduce(0.0) { $0 + Swift.abs(median - $1.graph.target) } / Double(test.count)
        return GraphRegressionResult(encoding: encoding, seed: seed, trainMAE: meanAbsoluteError(&model, train, mean: mean, scale: scale),
                                     testMAE: meanAbsoluteError(&model, test, mean: mean, scale: scale), baselineMAE: baseline,
                                     parameters: model.usedParameterCount, secondsPerEpoch: spe)
    }
}
