#include <doctest/doctest.h>

#include "core/ssh/command_starts.hpp"

using namespace flotilla;
using std::chrono::milliseconds;

TEST_CASE("commands start two at a time until their starts show how many the hosts take") {
  CommandStarts starts(50);
  CHECK(starts.window() == milliseconds(2000));  // nothing answered yet
  starts.started();
  starts.started();
  CHECK_FALSE(starts.may_start());
  starts.answered(milliseconds(100));
  CHECK(starts.may_start());  // one slot free, and the limit grew to 3
  CHECK(starts.limit() == 3);
  CHECK(starts.window() == milliseconds(3200));  // 32 times the fastest
  // Starts as fast as the fastest open the limit to the ceiling.
  for (int i = 0; i < 60; ++i) {
    starts.started();
    starts.answered(milliseconds(110));
  }
  CHECK(starts.limit() == 50);
  CHECK(starts.starting() == 1);
}

TEST_CASE("starts that slow each other down hold the limit low") {
  CommandStarts starts(50);
  starts.started();
  starts.answered(milliseconds(100));
  for (int i = 0; i < 20; ++i) {
    starts.started();
    starts.answered(milliseconds(200));  // within twice the fastest plus slack: grows
  }
  std::size_t grown = starts.limit();
  CHECK(grown == 23);
  for (int i = 0; i < 200; ++i) {
    starts.started();
    starts.answered(milliseconds(900));  // nine times the fastest: shrinks
  }
  CHECK(starts.limit() == 2);
}

TEST_CASE("a command that outlasts the window is a long one: the run starts the rest at once") {
  CommandStarts starts(50);
  starts.started();
  starts.started();
  CHECK_FALSE(starts.may_start());
  starts.outlasted();
  CHECK(starts.starting() == 1);
  CHECK(starts.may_start());
  for (int i = 0; i < 10; ++i) starts.started();
  CHECK(starts.starting() == 11);
  CHECK(starts.may_start());   // lifted for this run
  CHECK(starts.limit() == 2);  // a long command says nothing about starts
  starts.begin_run();
  CHECK_FALSE(starts.may_start());  // the next run is paced again
}

TEST_CASE("a start that fails gives back its slot and no measure") {
  CommandStarts starts(4);
  starts.started();
  starts.started();
  starts.dropped();
  CHECK(starts.starting() == 1);
  CHECK(starts.may_start());
  CHECK(starts.limit() == 2);
  CHECK(starts.window() == milliseconds(2000));
}

TEST_CASE("hosts connect for paced commands only as far ahead as the starts go") {
  CommandStarts starts(50);
  CHECK(starts.may_connect(1));
  CHECK_FALSE(starts.may_connect(2));  // two connecting or waiting: enough for the limit of two
  starts.started();
  starts.answered(milliseconds(20));
  CHECK(starts.may_connect(2));
  starts.started();
  starts.started();
  starts.outlasted();
  starts.outlasted();  // more outlasted than answered: long commands
  CHECK(starts.may_connect(40));
}

TEST_CASE("one slow start among answers does not lift the pacing") {
  CommandStarts starts(50);
  for (int i = 0; i < 3; ++i) {
    starts.started();
    starts.answered(milliseconds(100));
  }
  std::size_t limit = starts.limit();
  for (std::size_t i = 0; i < limit; ++i) starts.started();
  CHECK_FALSE(starts.may_start());
  starts.outlasted();  // 1 outlasted, 3 answered
  CHECK(starts.may_start());
  starts.started();
  CHECK_FALSE(starts.may_start());  // still paced: its slot was given to one more start
}
