@echo off
rem Completes the arguments of "kubectl sdr-mirror": kubectl 1.26 and later run
rem kubectl_complete-sdr_mirror, found on PATH, and read the completions it prints.
kubectl-sdr_mirror.exe __complete %*
