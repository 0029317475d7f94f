// The entry point of the kfk_server_*_link_check executables (CMakeLists.txt): linking one
// subsystem whole with only its dependencies proves it calls nothing above them.
int main() { return 0; }
