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
    /// When the file's labels were not 0..<C: the original label of each class (class i was
    /// `labelMap[i]` in the file); nil when the labels were used as they are.
    public var labelMap: [Int]? = nil

    public init(features: [Float], labels: [Int], dimension: Int, classes: Int) {
        self.features = features; self.labels = labels; self.dimension = dimension; self.classes = classes
    }

    /// Reads a CSV: a header line, numeric columns, the label in the column named `label` (else
    /// the last); labels must be integers ≥ 0. Errors name the file, line and column. Labels that
    /// are not the dense range 0..<C (e.g. 3, 7, 99999999999) are remapped to 0..<C in sorted
    /// order; `labelMap` then holds the original label of each class (memory stays proportional
    /// to the rows present, whatever the label values).
    public static func csv(path: String) throws -> Dataset {
        let text: String
        do { text = try InputFile.readText(path, limit: 1 << 30) } catch let e as FileReadError { throw DynamicsError.badData(e.description) }
        // Line numbers as in the file: empty lines are skipped but counted.
        var rows = [(line: Int, text: Substring)]()
        var number = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            if !raw.allSatisfy(\.isWhitespace) { rows.append((number, raw)) }
        }
        guard !rows.isEmpty else { throw DynamicsError.badData("\(path): empty file") }
        let first = rows.removeFirst()
        let header = first.text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard header.count >= 2 else { throw DynamicsError.badData("\(path): line \(first.line): need at least one feature column and a label column") }
        if header.allSatisfy({ Double($0) != nil }) {
            throw DynamicsError.badData("\(path): line \(first.line) holds numbers, not column names: the first line must be a header (e.g. x1,x2,label)")
        }
        let labelColumn = header.firstIndex(of: "label") ?? header.count - 1
        var features = [Float](), rawLabels = [Int]()
        features.reserveCapacity(rows.count * (header.count - 1))
        for (line, row) in rows {
            let cells = row.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw DynamicsError.badData("\(path): line \(line): \(cells.count) columns, the header has \(header.count)")
            }
            for (j, c) in cells.enumerated() {
                let s = c.trimmingCharacters(in: .whitespaces)
                if j == labelColumn {
                    guard let l = Int(s), l >= 0 else { throw DynamicsError.badData("\(path): line \(line): label '\(excerpt(s))' is not an integer ≥ 0") }
                    rawLabels.append(l)
                } else {
                    guard let v = Float(s), v.isFinite else {
                        let reason = Double(s).map { $0.isFinite ? "is beyond the float32 range (±3.4e38)" : "is not a finite number" } ?? "is not a number"
                        throw DynamicsError.badData("\(path): line \(line), column \(j + 1) (\(excerpt(header[j]))): '\(excerpt(s))' \(reason)")
                    }
                    features.append(v)
                }
            }
        }
        guard !rawLabels.isEmpty else { throw DynamicsError.badData("\(path): no data rows") }
        let distinct = Array(Set(rawLabels)).sorted()
        guard distinct.count >= 2 else { throw DynamicsError.badData("\(path): every label is \(distinct[0]); need at least two classes") }
        var out = Dataset(features: features, labels: rawLabels, dimension: header.count - 1, classes: distinct.count)
        if distinct.last! != distinct.count - 1 {
            let index = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
            out.labels = rawLabels.map { index[$0]! }
            out.labelMap = distinct
        }
        return out
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
        for i in idx.prefix(Int(clamping: (fraction * Double(count)).rounded(), to: 0...count)) {
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
