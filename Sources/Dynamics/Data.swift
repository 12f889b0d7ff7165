import Foundation
import Support

public enum DynamicsError: Error, CustomStringConvertible, Equatable {
    case badData(String)
    case invalid(String)
    /// A checkpoint made with another configuration or data set (only the epoch count may change).
    case checkpointMismatch(path: String)
    public var description: String {
        switch self {
        case .badData(let s), .invalid(let s): return s
        case .checkpointMismatch(let p):
            return "\(p): the checkpoint belongs to another configuration or data set (only the epoch count may change)"
        }
    }
}

/// A classification data set: n samples of d features (row-major) and labels 0..<classes.
public struct Dataset: Sendable {
    public var features: [Float]
    public var labels: [Int]
    public let dimension: Int
    public let classes: Int
    public var count: Int { labels.count }

    public init(features: [Float], labels: [Int], dimension: Int, classes: Int) {
        self.features = features; self.labels = labels; self.dimension = dimension; self.classes = classes
    }

    /// Reads a CSV: a header line, numeric columns, the label in the column named `label` (else
    /// the last); labels must be integers ≥ 0. Errors name the file, line and column.
    public static func csv(path: String) throws -> Dataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DynamicsError.badData("\(path): cannot read (\(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"))")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DynamicsError.badData("\(path): not UTF-8 text") }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { throw DynamicsError.badData("\(path): empty file") }
        let header = lines.removeFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard header.count >= 2 else { throw DynamicsError.badData("\(path): line 1: need at least one feature column and a label column") }
        let labelColumn = header.firstIndex(of: "label") ?? header.count - 1
        var features = [Float](), labels = [Int]()
        for (i, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw DynamicsError.badData("\(path): line \(i + 2): \(cells.count) columns, the header has \(header.count)")
            }
            for (j, c) in cells.enumerated() {
                let s = c.trimmingCharacters(in: .whitespaces)
                if j == labelColumn {
                    guard let l = Int(s), l >= 0 else { throw DynamicsError.badData("\(path): line \(i + 2): label '\(s)' is not an integer ≥ 0") }
                    labels.append(l)
                } else {
                    guard let v = Float(s), v.isFinite else {
                        throw DynamicsError.badData("\(path): line \(i + 2), column \(j + 1) (\(header[j])): '\(s)' is not a finite number")
                    }
                    features.append(v)
                }
            }
        }
        guard !labels.isEmpty else { throw DynamicsError.badData("\(path): no data rows") }
        let classes = labels.max()! + 1
        guard classes >= 2 else { throw DynamicsError.badData("\(path): every label is 0; need at least two classes") }
        return Dataset(features: features, labels: labels, dimension: header.count - 1, classes: classes)
    }

    /// The built-in default: `classes` Gaussian blobs in `dimension` dimensions whose centres lie
    /// at distance 2.5 from the origin (overlapping, so that a network can overfit noise).
    public static func synthetic(count: Int = 1500, dimension: Int = 16, classes: Int = 4, seed: UInt64 = 7) -> Dataset {
        var rng = SplitMix64(seed: seed)
        var centres = [[Double]]()
        for _ in 0..<classes {
            var c = (0..<dimension).map { _ in rng.nextGaussian() }
            let n = c.reduce(0) { $0 + $1 * $1 }.squareRoot()
            c = c.map { 2.5 * $0 / n }
            centres.append(c)
        }
        var f = [Float](), l = [Int]()
        for i in 0..<count {
            let k = i % classes
            for j in 0..<dimension { f.append(Float(centres[k][j] + rng.nextGaussian())) }
            l.append(k)
        }
        return Dataset(features: f, labels: l, dimension: dimension, classes: classes)
    }

    /// Rows `idx` as a new data set.
    public func subset(_ idx: [Int]) -> Dataset {
        var f = [Float](); f.reserveCapacity(idx.count * dimension)
        for i in idx { f += features[(i * dimension)..<((i + 1) * dimension)] }
        return Dataset(features: f, labels: idx.map { labels[$0] }, dimension: dimension, classes: classes)
    }

    /// Features shifted and scaled to zero mean and unit variance per column, with the
    /// statistics of `reference` (the training set).
    public func standardized(like reference: Dataset) -> Dataset {
        var out = self
        let d = dimension, n = reference.count
        for j in 0..<d {
            var m = 0.0, v = 0.0
            for i in 0..<n { m += Double(reference.features[i * d + j]) }
            m /= Double(n)
            for i in 0..<n { let x = Double(reference.features[i * d + j]) - m; v += x * x }
            let s = (v / Double(n)).squareRoot()
            for i in 0..<count { out.features[i * d + j] = Float((Double(features[i * d + j]) - m) / (s > 1e-12 ? s : 1)) }
        }
        return out
    }

    /// A copy where a fraction of the labels is replaced by a different class drawn at random.
    public func withLabelNoise(_ fraction: Double, seed: UInt64) -> Dataset {
        guard fraction > 0 else { return self }
        var rng = SplitMix64(seed: seed)
        var out = self
        var idx = Array(0..<count)
        idx.shuffle(using: &rng)
        for i in idx.prefix(Int((fraction * Double(count)).rounded())) {
            let shift = Int.random(in: 1..<classes, using: &rng)
            out.labels[i] = (labels[i] + shift) % classes
        }
        return out
    }
}

/// The fixed split of a data set: train, test, and a pool of spare samples used to replace one
/// training sample when measuring stability.
public struct DataSplit: Sendable {
    public var train: Dataset
    public var test: Dataset
    public var spare: Dataset

    public init(_ data: Dataset, trainCount: Int, testCount: Int, seed: UInt64) throws {
        guard trainCount >= 2, testCount >= 1, trainCount + testCount < data.count else {
            throw DynamicsError.invalid("split: \(trainCount) training + \(testCount) test samples need more than the \(data.count) the data has")
        }
        var rng = SplitMix64(seed: seed)
        var idx = Array(0..<data.count)
        idx.shuffle(using: &rng)
        let tr = data.subset(Array(idx[0..<trainCount]))
        train = tr.standardized(like: tr)
        test = data.subset(Array(idx[trainCount..<(trainCount + testCount)])).standardized(like: tr)
        spare = data.subset(Array(idx[(trainCount + testCount)...])).standardized(like: tr)
    }
}
