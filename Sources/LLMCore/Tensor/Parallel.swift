// Introduced in Chapter 00. One parallel loop for the whole course, and the one place that decides
// how many threads OpenBLAS may use.
//
// Two kinds of parallel work meet in a transformer: big matrix products and many independent small
// pieces (rows of a norm, heads of attention). Running OpenBLAS's threads and ours at once
// oversubscribes the cores: on a 2-core machine 2 workers × 2 BLAS threads ran small products at half
// the speed of 2 workers × 1 BLAS thread (DESIGN.md), and OpenBLAS's idle threads keep spinning
// (sched_yield) for a while after each product, stealing time from our workers. So by default OpenBLAS
// runs single-threaded and `BLAS.gemm` splits a big product over our workers itself (rows of C, or
// columns when C has few rows): one pool of threads, no spinning, and as fast as OpenBLAS's own
// threading at 1024³ (`make bench` prints both). `LLM_BLAS_THREADS=openblas` restores OpenBLAS's threads.
// Loops nest safely: inside a worker, `forEach` runs serially.
//
// The worker count is process-wide (`setThreads`, from `--threads`), with one exception:
// `withThreads(n) { … }` overrides it for the calling thread only, so a test or benchmark that compares
// thread counts cannot change the numbers of work running beside it on other threads. (Swift Testing
// runs suites concurrently; a global change made mid-run once broke the bit-exact resume test.)

import CBLAS
import Dispatch
import Foundation
import Synchronization

public enum Parallel {
    // Written once by `setThreads` before the parallel work starts (the chapters' `--threads` flag).
    nonisolated(unsafe) private static var workers: Int = Parallel.defaultThreads

    /// The number of cores the OS reports: the default for `--threads`.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// How many workers `forEach` uses on this thread, and how many threads OpenBLAS uses for one product.
    public static var threads: Int {
        let local = Int(bitPattern: pthread_getspecific(threadsKey))
        return local > 0 ? local : workers
    }

    /// Runs `body` with `count` workers for loops started on the calling thread, and restores the
    /// previous count afterwards. Other threads keep theirs.
    public static func withThreads<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        let saved = pthread_getspecific(threadsKey)
        pthread_setspecific(threadsKey, UnsafeRawPointer(bitPattern: max(1, count)))
        defer { pthread_setspecific(threadsKey, saved) }
        return try body()
    }

    private static let threadsKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Sets the worker count for our loops and for OpenBLAS. Call before parallel work starts.
    public static func setThreads(_ count: Int) {
        workers = max(1, count)
        resetBLASThreads()
    }

    /// Puts OpenBLAS's thread count back to what `setThreads` chose (after a benchmark changed it).
    static func resetBLASThreads() {
        openblas_set_num_threads(BLAS.splitProducts ? 1 : Int32(workers))
    }

    /// Whether the current thread is running a `forEach` chunk: a nested loop (a big product inside a
    /// loop over attention heads, say) then runs serially instead of oversubscribing the cores.
    /// A pthread key, not `Thread.current.threadDictionary`: this is asked on every product and loop,
    /// and the dictionary's string hashing cost 3% of a small model's training step.
    public static var insideWorker: Bool { pthread_getspecific(workerKey) != nil }

    private static let workerKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private static func asWorker(_ body: () -> Void) {
        pthread_setspecific(workerKey, UnsafeRawPointer(bitPattern: 1))
        body()
        pthread_setspecific(workerKey, nil)
    }

    /// Runs `body` over `0..<count` split into at most `threads` contiguous ranges, one per worker.
    /// - Parameters:
    ///   - minimumPerWorker: don't split below this many items per worker (small loops stay serial).
    ///   - callsBLAS: set when `body` calls BLAS; OpenBLAS then runs single-threaded inside the loop.
    ///   - fineGrained: the loop is short (microseconds) and comes in long series, as in batch-1
    ///     decoding's ~30 matrix-vector products per token: run it on the spinning `WorkerPool`.
    public static func forEach(_ count: Int, minimumPerWorker: Int = 1, callsBLAS: Bool = false,
                               fineGrained: Bool = false,
                               _ body: (Range<Int>) -> Void) {
        let chunks = insideWorker ? 1 : min(threads, count / max(1, minimumPerWorker))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let singleThreadedBLAS = callsBLAS && !BLAS.splitProducts
        if singleThreadedBLAS { openblas_set_num_threads(1) }
        // Also after the pool's early return.
        defer { if singleThreadedBLAS { openblas_set_num_threads(Int32(workers)) } }
        if fineGrained {
            // Several small tasks per worker, taken first come first served: a worker that starts late
            // (woken, or preempted on a shared machine) takes fewer instead of holding everyone up.
            let tasks = min(count / max(1, minimumPerWorker), chunks * WorkerPool.tasksPerWorker)
            if runOnPool(workers: chunks, tasks: tasks, { task in body(part(task, of: tasks, count)) }) { return }
        }
        run(chunks: chunks) { chunk in body(part(chunk, of: chunks, count)) }
    }

    /// The `index`-th of `parts` contiguous, near-equal ranges covering 0..<count.
    private static func part(_ index: Int, of parts: Int, _ count: Int) -> Range<Int> {
        index * count / parts..<(index + 1) * count / parts
    }

    /// Runs `job(0)…job(chunks − 1)` at the same time through Dispatch, each as a worker, and returns
    /// when all are done. Dispatch's idle threads sleep: right for training's big loops.
    private static func run(chunks: Int, _ job: (Int) -> Void) {
        withoutActuallyEscaping(job) { escapable in
            // Swift 6 checks that closures crossing threads are Sendable; our bodies capture unsafe
            // pointers to disjoint ranges, which is safe by construction. This box is the one place
            // that promise is made (with `runOnPool`).
            let box = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in asWorker { box.value(chunk) } }
        }
    }

    /// Runs `job(0)…job(tasks − 1)` on the `WorkerPool` with `workers` threads (the caller included)
    /// and returns true, or returns false at once when the pool is held by another thread or too small.
    /// Its threads spin briefly between loops, so the next loop starts in a microsecond instead of the
    /// tens of microseconds a sleeping thread takes to wake (batch-1 decoding: +25–30% tokens/s on
    /// 2 threads; training's bigger loops gained nothing from spinning, so they keep Dispatch).
    private static func runOnPool(workers: Int, tasks: Int, _ job: (Int) -> Void) -> Bool {
        withoutActuallyEscaping(job) { escapable in
            let box = UncheckedSendable(escapable)
            return WorkerPool.shared.run(workers: workers, tasks: tasks) { task in asWorker { box.value(task) } }
        }
    }

    /// Runs `body(worker, range)` like `forEach` and also hands each worker its index, so it can
    /// accumulate into its own partial buffer (`partials[worker]`) without locks.
    /// - Parameter partials: how many partial buffers the caller allocated; at most that many workers run,
    ///   so `worker` is always a valid index.
    /// Returns the number of workers used (the partial buffers to reduce).
    @discardableResult
    public static func forEachWorker(_ count: Int, partials: Int, minimumPerWorker: Int = 1,
                                     _ body: (_ worker: Int, Range<Int>) -> Void) -> Int {
        let chunks = insideWorker ? 1 : max(1, min(threads, partials, count / max(1, minimumPerWorker)))
        if chunks == 1 {
            body(0, 0..<count)
            return 1
        }
        run(chunks: chunks) { chunk in body(chunk, part(chunk, of: chunks, count)) }
        return chunks
    }
}

/// Carries a value across a concurrency boundary that the compiler cannot prove safe. Used only by
/// `Parallel`, whose callers touch disjoint memory from each worker.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The helper threads behind `Parallel.forEach(fineGrained:)`: `helpers` threads that wait for work by
/// spinning for ~50 µs after each loop, then sleep on a condition variable. A loop is a number of tasks
/// that the caller and the first `workers − 1` helpers take one at a time from a shared counter, so a
/// helper that is slow to start takes fewer. One caller at a time (a flag held for the loop); a second
/// caller, or a loop wanting more workers than the pool has, is told to use Dispatch instead.
final class WorkerPool: @unchecked Sendable {
    /// `LLM_WORKER_POOL=off` leaves every loop to Dispatch (to compare).
    static let shared = WorkerPool(
        helpers: ProcessInfo.processInfo.environment["LLM_WORKER_POOL"] == "off" ? 0 : Parallel.defaultThreads - 1)
    /// Tasks per worker in a fine-grained loop: enough to even out a late start, few enough that taking
    /// one (an atomic add) costs nothing next to a task.
    static let tasksPerWorker = 4

    let helpers: Int
    private let busy = Mutex(false)                     // held for a whole loop by its caller
    private let generation = Atomic<Int>(0)             // bumped once per loop: the helpers' signal
    private let pending = Atomic<Int>(0)                // helpers not yet done with this loop
    private let nextTask = Atomic<Int>(0)               // the next task to take in this loop
    private let sleeping = Atomic<Int>(0)
    private var job: UncheckedSendable<(Int) -> Void>?  // these three are written before `generation` is bumped
    private var tasks = 0
    private var workers = 0
    private var mutex = pthread_mutex_t(), wake = pthread_cond_t()

    init(helpers: Int) {
        self.helpers = max(0, helpers)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 0..<self.helpers {
            let thread = Thread { [unowned self] in self.helperLoop(worker: index + 1) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs the loop on the pool and returns true, or returns false at once when the pool cannot take it.
    func run(workers: Int, tasks: Int, _ job: @escaping (Int) -> Void) -> Bool {
        guard workers - 1 <= helpers, workers > 1, tasks > 1, busy.withLock({ taken in
            if taken { return false }
            taken = true
            return true
        }) else { return false }
        self.job = UncheckedSendable(job)
        self.tasks = tasks
        self.workers = workers
        nextTask.store(0, ordering: .relaxed)
        pending.store(helpers, ordering: .relaxed)           // every helper answers every loop
        // Sequentially consistent with the helper's `sleeping.add` then `generation.load`: one of the two
        // sides sees the other's write, so a helper never sleeps through a loop.
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
        }
        takeTasks(job)
        var spins = 0
        while pending.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > 4096 { sched_yield() }
        }
        self.job = nil
        busy.withLock { $0 = false }
        return true
    }

    private func takeTasks(_ job: (Int) -> Void) {
        while true {
            let task = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if task >= tasks { return }
            job(task)
        }
    }

    private func helperLoop(worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                // Batch-1 decoding hands out a job every few microseconds; a helper that went to sleep
                // costs a wake-up each time. 200 000 spins (libgomp spins a similar count) measured faster
                // than 20 000 in 9 of 10 alternating `llm bench --only generate` runs.
                if spins < 200_000 { continue }
                pthread_mutex_lock(&mutex)
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(&wake, &mutex) }
                sleeping.subtract(1, ordering: .releasing)
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if worker < workers, let job { takeTasks(job.value) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
