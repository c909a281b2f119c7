// pool_decode -- decode one tensor of a .dcz with the caller's thread pool.
//
// An engine that has its own threads (ggml's threadpool, a job system) hands
// them to libdoublecomp instead of letting it start its own: it owns one
// decompression context per thread and a "parallel for", and
// dc_reader_decode_tensor_pool() runs one job per chunk on them. This
// program is a complete C++17 example: a small fixed pool whose
// parallel_for() passes each job the index of the thread running it, the C
// callback that adapts it, and RAII owners for the library's handles.
//
//   dc-pool-decode [FILE.dcz [TENSOR]] [--threads N]
//
// Without a file it writes a small .dcz of its own first (in the temporary
// directory). It decodes TENSOR (default: the largest) with the pool and with
// the library's convenience call, checks that both agree, and prints the
// times. Builds against the installed library, via pkg-config:
//   c++ -std=c++17 main.cpp $(pkg-config --cflags --libs doublecomp) -pthread
// or via CMake (find_package(doublecomp), this folder's CMakeLists.txt).
#ifndef DC_EXPERIMENTAL
#define DC_EXPERIMENTAL // dc_reader_decode_tensor_pool is experimental API
#endif
#include <doublecomp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// A fixed pool of n threads: the caller of parallel_for() is worker 0, the
// pool's own threads are workers 1 .. n-1. Jobs are handed out one at a time
// from an atomic counter, so a slow chunk does not hold up the others.
class ThreadPool {
  public:
    explicit ThreadPool(unsigned n) : n_(n ? n : 1) {
        for (unsigned w = 1; w < n_; w++)
            threads_.emplace_back([this, w] { loop(w); });
    }
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(m_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto &t : threads_)
            t.join();
    }
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    unsigned size() const {
        return n_;
    }

    // Runs fn(i, worker) for every i in [0, n) and returns when all are done.
    void parallel_for(size_t n, const std::function<void(size_t, unsigned)> &fn) {
        {
            std::lock_guard<std::mutex> lock(m_);
            fn_ = &fn;
            n_jobs_ = n;
            next_.store(0);
            busy_ = n_ - 1;
            generation_++;
        }
        wake_.notify_all();
        run(0);
        std::unique_lock<std::mutex> lock(m_);
        done_.wait(lock, [this] { return busy_ == 0; });
        fn_ = nullptr;
    }

  private:
    void run(unsigned worker) {
        for (size_t i; (i = next_.fetch_add(1)) < n_jobs_;)
            (*fn_)(i, worker);
    }
    void loop(unsigned worker) {
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(m_);
                wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
            }
            run(worker);
            std::lock_guard<std::mutex> lock(m_);
            if (--busy_ == 0) done_.notify_one();
        }
    }

    const unsigned n_;
    std::vector<std::thread> threads_;
    std::mutex m_;
    std::condition_variable wake_, done_;
    bool stop_ = false;
    uint64_t generation_ = 0;
    unsigned busy_ = 0;
    const std::function<void(size_t, unsigned)> *fn_ = nullptr;
    size_t n_jobs_ = 0;
    std::atomic<size_t> next_{0};
};

// The library's dc_parallel_for_fn, on a ThreadPool.
extern "C" void pool_parallel_for(void *pool, size_t n_jobs, dc_job_fn job, void *job_arg) {
    static_cast<ThreadPool *>(pool)->parallel_for(
        n_jobs, [job, job_arg](size_t i, unsigned worker) { job(job_arg, i, worker); });
}

// RAII owners of the library's handles.
struct ReaderClose {
    void operator()(dc_reader *r) const {
        dc_reader_close(r);
    }
};
struct DctxFree {
    void operator()(dc_dctx *d) const {
        dc_dctx_free(d);
    }
};
using Reader = std::unique_ptr<dc_reader, ReaderClose>;
using Dctx = std::unique_ptr<dc_dctx, DctxFree>;

[[noreturn]] void die(const char *what, dc_status st) {
    std::fprintf(stderr, "dc-pool-decode: %s: %s\n", what, dc_status_string(st));
    std::exit(1);
}

// A .dcz with one 1024 x 2816 INT8 tensor of Laplace-like weights.
void write_sample(const std::string &path) {
    const uint64_t rows = 1024, cols = 2816;
    std::vector<uint8_t> w(rows * cols);
    uint64_t s = 42;
    for (auto &b : w) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int v = static_cast<int>((s >> 33) % 17) - 8 + static_cast<int>((s >> 50) % 5) - 2;
        b = static_cast<uint8_t>(static_cast<int8_t>(v));
    }
    dc_writer_options wo{};
    wo.struct_size = sizeof wo;
    wo.overwrite = 1;
    dc_writer *wr = nullptr;
    dc_status st = dc_writer_create(path.c_str(), &wo, &wr);
    if (st != DC_OK) die("create", st);
    const float scale = 0.01f;
    dc_tensor_desc d{};
    d.struct_size = sizeof d;
    d.name = "blk.0.ffn_up.weight";
    d.ndim = 2;
    d.dims[0] = rows;
    d.dims[1] = cols;
    d.source_dtype = DC_DTYPE_F32;
    d.dtype = DC_DTYPE_I8;
    d.bits = 8;
    d.granularity = DC_QUANT_PER_TENSOR;
    d.scales = &scale;
    d.n_scales = 1;
    d.prune_method = DC_PRUNE_NONE;
    if ((st = dc_writer_add_tensor(wr, &d, w.data(), w.size())) != DC_OK) die("add tensor", st);
    if ((st = dc_writer_finish(wr)) != DC_OK) die("finish", st);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char **argv) {
    std::string path, tensor;
    unsigned threads = std::thread::hardware_concurrency();
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        else if (path.empty())
            path = argv[i];
        else
            tensor = argv[i];
    }
    if (threads == 0) threads = 1;
    bool own_file = path.empty();
    if (own_file) {
        path =
            (std::filesystem::temp_directory_path() /
             ("dc-pool-decode-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".dcz"))
                .string();
        write_sample(path);
    }

    dc_reader *raw = nullptr;
    const char *why = nullptr;
    dc_status st = dc_reader_open_file(path.c_str(), nullptr, &raw, &why);
    if (st != DC_OK) {
        std::fprintf(stderr, "dc-pool-decode: %s: %s (%s)\n", path.c_str(), dc_status_string(st),
                     why ? why : "");
        return 1;
    }
    Reader reader(raw);
    if (own_file) std::filesystem::remove(path); // the mapping stays valid

    size_t index = 0;
    dc_tensor_desc d{};
    d.struct_size = sizeof d;
    if (!tensor.empty()) {
        if ((st = dc_reader_find(reader.get(), tensor.c_str(), &index)) != DC_OK)
            die(tensor.c_str(), st);
    } else { // the largest tensor
        uint64_t best = 0;
        for (size_t i = 0; i < dc_reader_tensor_count(reader.get()); i++) {
            if (dc_reader_tensor(reader.get(), i, &d) == DC_OK && d.data_size >= best) {
                best = d.data_size;
                index = i;
            }
        }
    }
    if ((st = dc_reader_tensor(reader.get(), index, &d)) != DC_OK) die("tensor", st);

    // The engine's side: its pool, and one context per pool thread.
    ThreadPool pool(threads);
    std::vector<Dctx> owned;
    std::vector<dc_dctx *> dctx;
    for (unsigned w = 0; w < pool.size(); w++) {
        dc_dctx *c = nullptr;
        if ((st = dc_dctx_create(nullptr, &c)) != DC_OK) die("dctx", st);
        owned.emplace_back(c);
        dctx.push_back(c);
    }

    std::vector<uint8_t> a(d.data_size), b(d.data_size);
    size_t failed = 0;
    auto t0 = std::chrono::steady_clock::now();
    st = dc_reader_decode_tensor_pool(reader.get(), index, a.data(), a.size(), dctx.data(),
                                      pool.size(), pool_parallel_for, &pool, &failed);
    double t_pool = seconds_since(t0);
    if (st != DC_OK) die("decode (pool)", st);
    t0 = std::chrono::steady_clock::now();
    st = dc_reader_decode_tensor(reader.get(), index, b.data(), b.size(), pool.size(), &failed);
    double t_own = seconds_since(t0);
    if (st != DC_OK) die("decode (library threads)", st);
    if (a != b) {
        std::fprintf(stderr, "dc-pool-decode: the two decodes differ\n");
        return 1;
    }
    std::printf("dc-pool-decode OK: %s, %u chunks, %llu bytes, %u threads: "
                "caller's pool %.3f ms, library threads %.3f ms\n",
                d.name, d.n_chunks, static_cast<unsigned long long>(d.data_size), pool.size(),
                t_pool * 1e3, t_own * 1e3);
    return 0;
}
