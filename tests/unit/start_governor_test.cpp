#include <doctest/doctest.h>

#include "core/ssh/start_governor.hpp"

using namespace flotilla;
using std::chrono::milliseconds;

TEST_CASE("starts that stay fast open the window to the ceiling") {
  StartGovernor governor(50, {});
  CHECK(governor.limit() == 8);
  for (int i = 0; i < 100; ++i) governor.completed(milliseconds(40 + i % 5));
  CHECK(governor.limit() == 50);
}

TEST_CASE("starts that slow each other down close the window, then it holds") {
  StartGovernor governor(200, {.initial = 32});
  governor.completed(milliseconds(50));  // the fastest: alone
  CHECK(governor.limit() == 33);
  // Every one now takes ten times as long: a quarter off, once per window.
  for (int i = 0; i < 33; ++i) governor.completed(milliseconds(500));
  CHECK(governor.limit() == 24);
  for (int i = 0; i < 200; ++i) governor.completed(milliseconds(500));
  CHECK(governor.limit() == 4);  // never below a few at once
  // Three times as long: neither grows nor shrinks.
  StartGovernor holding(200, {.initial = 16});
  holding.completed(milliseconds(50));
  for (int i = 0; i < 100; ++i) holding.completed(milliseconds(150));
  CHECK(holding.limit() == 17);
}

TEST_CASE("a start that times out halves the window; a small ceiling is kept") {
  StartGovernor governor(50, {.initial = 40});
  governor.timed_out();
  CHECK(governor.limit() == 20);
  StartGovernor tiny(2, {});
  CHECK(tiny.limit() == 2);
  tiny.timed_out();
  CHECK(tiny.limit() == 2);
  for (int i = 0; i < 10; ++i) tiny.completed(milliseconds(10));
  CHECK(tiny.limit() == 2);
}

TEST_CASE("slack keeps jitter on starts of a few milliseconds from counting as slow") {
  StartGovernor strict(50, {.initial = 8, .floor = 2});
  StartGovernor tolerant(50, {.initial = 8, .floor = 2, .slack = milliseconds(50)});
  for (StartGovernor* g : {&strict, &tolerant}) {
    g->completed(milliseconds(3));
    for (int i = 0; i < 40; ++i) g->completed(milliseconds(23));  // 20 ms of jitter
  }
  CHECK(strict.limit() == 2);
  CHECK(tolerant.limit() == 49);
  CHECK(tolerant.fastest() == milliseconds(3));
}
