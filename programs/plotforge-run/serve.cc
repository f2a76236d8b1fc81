// plotforge-run serve: the story server (serving/, stories/). Binds first, so /health
// answers 503 while the bundle loads; prints the URL once it serves; on
// SIGTERM or SIGINT stops taking requests, lets running ones finish until
// --shutdown-timeout, cancels the rest and exits 0.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "analytics/routes.h"
#include "base/error.h"
#include "inference/engine.h"
#include "inference/scene_classifier.h"
#include "programs/common/options.h"
#include "programs/plotforge-run/commands.h"
#include "serving/engine_loop.h"
#include "serving/server.h"
#include "stories/routes.h"
#include "stories/store.h"
#include "viewers/routes.h"

namespace plotforge::programs {

namespace {
int signal_pipe[2] = {-1, -1};
void on_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = write(signal_pipe[1], &b, 1);
}
}  // namespace

int cmd_serve(const Args& args) {
  po::options_description o("plotforge-run serve");
  o.add_options()("bundle", po::value<std::string>()->required(), "bundle directory from 'plotforge export'")(
      "adapter", po::value<std::vector<std::string>>()->default_value({}, ""),
      "NAME=DIR: serve the LoRA adapter DIR (plotforge export --format peft) as model NAME; repeatable");
  serving::ServeOptions so;
  add_fields(o, so);
  runtime::RuntimeOptions ro;
  add_fields(o, ro);
  stories::StoryOptions sto;
  add_fields(o, sto);
  viewers::ViewerOptions vo;
  add_fields(o, vo);
  po::variables_map vm;
  if (!parse_options("usage: plotforge-run serve --bundle DIR [--host 127.0.0.1] [--port 8080] [--api-key KEY | "
                     "--api-key-file F] [--max-queue N] [--max-running N] [--max-body-bytes N] [--device cpu|cuda] "
                     "[--db F] [--classifier DIR] [--recommender RUN] [--adapter NAME=DIR ...]",
                     o, args, &vm)) {
    return 0;
  }
  read_fields(vm, &so);
  read_fields(vm, &ro);
  read_fields(vm, &sto);
  read_fields(vm, &vo);
  so.resolve();
  ro.validate();
  const std::string bundle = vm["bundle"].as<std::string>();
  std::string name = so.model_name;
  if (name.empty()) name = std::filesystem::path(bundle).lexically_normal().filename().string();
  if (name.empty() || name == ".") name = std::filesystem::path(bundle).lexically_normal().parent_path().filename();

  // Signals become a byte on a pipe, read here: whichever thread the signal
  // lands on (OpenBLAS starts its own), the shutdown runs on this one.
  if (pipe(signal_pipe) != 0) throw std::runtime_error("pipe() failed");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that leaves mid-stream is a failed write, not a crash

  stories::Store store(sto.db);  // opened (and migrated) before the port, so a bad --db fails at once
  std::unique_ptr<runtime::SceneClassifier> classifier;
  if (!sto.classifier.empty()) classifier = runtime::SceneClassifier::load(sto.classifier);  // small: before the port
  std::unique_ptr<recommendation::Recommender> recommender;
  if (!vo.recommender.empty()) {
    recommender = std::make_unique<recommendation::Recommender>(recommendation::load_recommender(vo.recommender));
  }
  serving::Server server(so);
  stories::StoryRoutes story_routes(server, store, classifier.get());
  analytics::add_analytics_routes(server, store);
  viewers::add_viewer_routes(server, store, recommender.get());
  const int port = server.bind();
  const std::string url =
      "http://" + (so.host.find(':') != std::string::npos ? "[" + so.host + "]" : so.host) + ":" + std::to_string(port);
  std::thread http([&] { server.listen(); });
  std::fprintf(stderr, "plotforge-run serve: loading %s (listening on %s; /health says 503 until ready)\n",
               bundle.c_str(), url.c_str());
  std::unique_ptr<runtime::Model> model;
  runtime::Runtime rt;
  std::unique_ptr<serving::EngineLoop> loop;
  serving::Server::Adapters adapters;
  try {
    model = runtime::Model::load(bundle, ro.weight_type());
    if (model->config().latent > 0) {
      throw InputError(bundle +
                       ": a VAE bundle needs a latent code per request; serve runs Transformer bundles "
                       "(decode a VAE with 'plotforge-run generate --prior')");
    }
    for (const auto& spec : vm["adapter"].as<std::vector<std::string>>()) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
        throw InputError("--adapter " + spec + ": give NAME=DIR (the name requests put in 'model')");
      }
      const std::string adapter_name = spec.substr(0, eq);
      if (adapter_name == name || adapters.count(adapter_name)) {
        throw InputError("--adapter " + spec + ": the name '" + adapter_name + "' is already served");
      }
      adapters[adapter_name] = runtime::Adapter::load(spec.substr(eq + 1), *model);
    }
    rt = ro.make(*model, so.max_running);
    serving::EngineLoopOptions lo;
    lo.max_queue = so.max_queue;
    lo.stall_seconds = so.stall_seconds;
    lo.prefix_cache = so.prefix_cache;
    lo.scheduler.max_running = so.max_running;
    lo.scheduler.prefill_chunk = ro.prefill_chunk;
    loop = std::make_unique<serving::EngineLoop>(*rt.engine, lo, server.metrics());
  } catch (...) {
    server.stop();
    http.join();
    throw;
  }
  server.set_engine(*model, *loop, name, adapters);
  std::printf("plotforge-run serve: serving '%s' at %s\n", name.c_str(), url.c_str());
  std::fflush(stdout);

  unsigned char sig = 0;
  while (read(signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
  }
  std::fprintf(stderr, "plotforge-run serve: signal %d: no new requests; running ones have %.0f s to finish\n", sig,
               so.shutdown_timeout);
  server.set_draining();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(so.shutdown_timeout));
  loop->drain(deadline);
  server.stop();
  http.join();
  loop.reset();
  std::fprintf(stderr, "plotforge-run serve: stopped\n");
  return 0;
}

}  // namespace plotforge::programs
