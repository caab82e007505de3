package dev.veil.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** veil-server's {@link Main} as a child process (the test class path), on ephemeral ports. */
final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("veil-server listening http_port=(\\d+) rtc_port=(\\d+).*");
  final Process process;
  final Path stderr;
  final int httpPort;
  /** The "veil-server listening ..." line. */
  final String listening;
  private final Writer stdin;

  private ServerProcess(Process p, Path stderr, int httpPort, String listening) {
    this.process = p;
    this.stderr = stderr;
    this.httpPort = httpPort;
    this.listening = listening;
    this.stdin = new java.io.OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
  }

  static ServerProcess start(Path dir, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.add("--http-port");
    cmd.add("0");
    cmd.add("--rtc-port");
    cmd.add("0");
    cmd.addAll(List.of(args));
    Path err = dir.resolve("stderr.log");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      Matcher m = LISTENING.matcher(line);
      if (m.matches()) {
        Thread drain = new Thread(() -> {
          try {
            while (out.readLine() != null) {
              // keep the pipe open and empty
            }
          } catch (IOException e) {
            // the process ended
          }
        }, "server-stdout");
        drain.setDaemon(true);
        drain.start();
        return new ServerProcess(p, err, Integer.parseInt(m.group(1)), line);
      }
    }
    p.destroyForcibly();
    throw new IOException("the server ended before listening: " + Files.readString(err));
  }

  /** Writes one line to the server's standard input. */
  void command(String line) throws IOException {
    stdin.write(line + "\n");
    stdin.flush();
  }

  /** Waits (bounded) for the exit; its status. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the server did not exit");
    }
    return process.exitValue();
  }

  String stderr() throws IOException {
    return Files.readString(stderr);
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
