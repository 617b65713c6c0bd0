# ftpmirror on Nomad: a periodic batch job running one job of jobs.toml
# once per schedule (copy it per job). Nomad does the scheduling, so the
# jobs' schedule/jitter/catch_up keys are not used here.
#
# The mirror and its state live together on one volume (state keys under
# /data), so a run can move between clients. The password comes from a
# Nomad Variable:
#   nomad var put nomad/jobs/ftpmirror-vendor-firmware password=...
#   nomad job run ftpmirror.nomad.hcl

job "ftpmirror-vendor-firmware" {
  type = "batch"

  periodic {
    crons     = ["15 */6 * * *"]
    time_zone = "UTC"
    # A job never overlaps itself: no new run while one is going.
    prohibit_overlap = true
  }

  group "mirror" {
    count = 1

    # Exit 1 (some files failed) is worth one more try later; the next
    # periodic run resumes partial files anyway.
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 1
      interval  = "6h"
      delay     = "10m"
      unlimited = false
    }

    volume "data" {
      type            = "csi"
      source          = "ftpmirror-data"
      access_mode     = "multi-node-multi-writer"
      attachment_mode = "file-system"
    }

    task "sync" {
      driver = "docker"

      config {
        image = "registry.example.org/ftpmirror:latest"
        args  = ["sync", "-jobs", "/local/jobs.toml", "-log-format", "json", "vendor-firmware"]
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
      }

      template {
        destination = "local/jobs.toml"
        data        = <<-EOT
          # See jobs.toml in the repository for every key.
          [[job]]
          name = "vendor-firmware"
          source = "ftp://files.vendor.example/firmware"
          target = "/data/vendor-firmware"
          state = "/data/.ftpmirror/vendor-firmware.db"
          user = "mirror"
          password_env = "VENDOR_FTP_PASSWORD"
          tls = "explicit"
          max_age = "13h"
        EOT
      }

      template {
        destination = "secrets/env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/ftpmirror-vendor-firmware" }}VENDOR_FTP_PASSWORD={{ .password }}{{ end }}
        EOT
      }

      # SIGTERM lets transfers stop and leave resumable partial files;
      # sync -jobs exits within 30 s of it. Give it more than that.
      kill_signal  = "SIGTERM"
      kill_timeout = "45s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
