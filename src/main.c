int leashd_main(int, char **);
int main(int argc, char **argv) { return leashd_main(argc, argv); }
